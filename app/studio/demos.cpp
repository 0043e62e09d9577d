#include "app/studio/demos.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QStandardPaths>

// Q_INIT_RESOURCE must be used outside any namespace.
static void initResources() { Q_INIT_RESOURCE(studio); }

namespace rebasin::studio {

void initStudioResources() { initResources(); }

namespace {

// Copies an embedded demo model to a real file (the checkpoint readers take paths); a copy
// already there with the same size is reused.
bool extract(const QString& resource, QString* path, QString* error) {
  QString dir = QStandardPaths::writableLocation(QStandardPaths::CacheLocation);
  if (dir.isEmpty()) dir = QDir::temp().filePath(QStringLiteral("rebasin-studio"));
  dir = QDir(dir).filePath(QStringLiteral("demo"));
  if (!QDir().mkpath(dir)) return *error = QObject::tr("cannot create %1").arg(dir), false;
  *path = QDir(dir).filePath(QFileInfo(resource).fileName());
  QFile source(resource);
  if (QFileInfo(*path).size() == source.size()) return true;
  QFile::remove(*path);
  const QString partial = *path + QStringLiteral(".part");
  QFile::remove(partial);
  if (!source.copy(partial) || !QFile::rename(partial, *path))
    return *error = QObject::tr("cannot write the demo model %1").arg(*path), false;
  QFile(*path).setPermissions(QFile::ReadOwner | QFile::WriteOwner | QFile::ReadGroup | QFile::ReadOther);
  return true;
}

}  // namespace

QStringList demoNames() { return {"recover", "align", "continual", "vit"}; }

bool demoSettings(const QString& name, JobSettings* s, QString* error) {
  *s = JobSettings{};
  if (name == "recover") {
    // A wide MLP and the paper's small learning rate, so the plans visibly sharpen for a while
    // before the hidden permutation is found.
    s->task = Task::Recover;
    s->recoverArch = QStringLiteral("mlp:784,512,512,10");
    s->method = QStringLiteral("sinkhorn");
    s->cost = QStringLiteral("l2");
    s->lr = 0.05;
    s->steps = 300;
    return true;
  }
  if (name == "align") {
    s->task = Task::Align;
    s->method = QStringLiteral("sinkhorn");
    s->cost = QStringLiteral("l2");
    s->data = QStringLiteral("mnist");
    s->landscapeGrid = 15;
    return extract(QStringLiteral(":/demo/mnist-mlp-seed1.safetensors"), &s->modelA, error) &&
           extract(QStringLiteral(":/demo/mnist-mlp-seed2.safetensors"), &s->modelB, error);
  }
  if (name == "continual") {
    // A short rotated-MNIST stream: 10 tasks (0 to 180 degrees), one epoch each on the whole
    // training split - about 20 s here, 70% average accuracy (5 tasks of 45 degrees are too far
    // apart for one epoch: 65%; the full protocol is 20 tasks, 5 epochs, docs/results.md).
    s->task = Task::Continual;
    s->stream = QStringLiteral("rotated-mnist");
    s->continualMethod = QStringLiteral("rebasin-il");
    s->tasks = 10;
    s->epochs = 1;
    s->trainPerTask = 0;
    return true;
  }
  if (name == "vit") {
    // Two small vision transformers (resources/demo/README.md) on Fashion-MNIST: Sinkhorn
    // re-basin with the two-level plans of the attention heads (the Transport plans tab shows
    // each layer's head plan; a click on a head opens its units' plan). The midpoint cost: on
    // this pair the l2 cost barely lowers the barrier (2.60 against naive 2.91), the midpoint's
    // loss brings it to 0.51 in about a minute here (docs/results.md). 11 points: a ViT
    // evaluates the 10,000 test images about ten times slower than the MLPs.
    s->task = Task::Align;
    s->method = QStringLiteral("sinkhorn");
    s->cost = QStringLiteral("mid");
    s->data = QStringLiteral("fashion-mnist");
    s->points = 11;
    return extract(QStringLiteral(":/demo/fmnist-vit-seed1.safetensors"), &s->modelA, error) &&
           extract(QStringLiteral(":/demo/fmnist-vit-seed2.safetensors"), &s->modelB, error);
  }
  *error = QObject::tr("unknown demo '%1' (choose recover, align, continual or vit)").arg(name);
  return false;
}

}  // namespace rebasin::studio
