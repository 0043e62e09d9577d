// What the Job dock asks for and what a finished job reports: plain Qt value types, copied into
// the worker thread when a job starts (nothing is shared with the GUI while it runs).
#pragma once

#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace rebasin::studio {

enum class Task { Recover, Align, Interpolate, Continual, Merge };

QString taskName(Task task);              // "recover", "align", ...
bool parseTask(const QString& text, Task* task);

struct JobSettings {
  Task task = Task::Align;
  // models (align, interpolate; merge: A, B, then moreModels)
  QString modelA, modelB, arch = QStringLiteral("auto");
  QStringList moreModels;
  // recover: the random model's architecture
  QString recoverArch = QStringLiteral("mlp:784,512,512,10");
  // method
  QString method = QStringLiteral("sinkhorn"), cost = QStringLiteral("l2"), init = QStringLiteral("auto");
  double tau = 1.0, lr = 0.0;  // lr <= 0: the method's default
  int iterations = 20, steps = 0;  // steps <= 0: the method's default
  int patience = -1;               // -1: auto, 0: every step
  // merge: into the first model's frame or a shared universe. REPAIR: of the merged model
  // (merge), and a REPAIRed aligned curve (align, interpolate)
  QString mergeTarget = QStringLiteral("first");
  bool repair = false;
  // data and evaluation
  QString data = QStringLiteral("mnist"), split = QStringLiteral("test");
  int points = 25;
  int landscapeGrid = 0;  // 0: no landscape
  // continual
  QString stream = QStringLiteral("rotated-mnist"), continualMethod = QStringLiteral("rebasin-il");
  int tasks = 20, epochs = 5;
  qint64 trainPerTask = 0;  // 0: whole training split
  // where and how
  QString device = QStringLiteral("auto");
  quint64 seed = 0;
  // Advanced: the CLI's remaining options, with the CLI's defaults (empty: not given)
  QString key, residual, normalize, input;   // --key, --residual, --normalize MEAN,STD, --input C,H,W
  QString backward = QStringLiteral("implicit");  // --backward implicit|unrolled
  int batchSize = 500;                             // --batch-size
  bool bnReset = true;                             // false: --no-bn-reset

  QJsonObject toJson() const;
  static JobSettings fromJson(const QJsonObject& json);
};

struct JobProgress {
  QString stage;
  double fraction = 0, seconds = 0, eta = 0;
};

}  // namespace rebasin::studio

Q_DECLARE_METATYPE(rebasin::studio::JobSettings)
Q_DECLARE_METATYPE(rebasin::studio::JobProgress)
