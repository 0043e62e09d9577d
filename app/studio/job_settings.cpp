#include "job_settings.h"

#include <QJsonArray>
#include <QJsonValue>

namespace rebasin::studio {

QString taskName(Task task) {
  switch (task) {
    case Task::Recover: return QStringLiteral("recover");
    case Task::Align: return QStringLiteral("align");
    case Task::Interpolate: return QStringLiteral("interpolate");
    case Task::Continual: return QStringLiteral("continual");
    case Task::Merge: return QStringLiteral("merge");
  }
  return {};
}

bool parseTask(const QString& text, Task* task) {
  for (Task t : {Task::Recover, Task::Align, Task::Interpolate, Task::Continual, Task::Merge})
    if (taskName(t) == text) {
      *task = t;
      return true;
    }
  return false;
}

QJsonObject JobSettings::toJson() const {
  return {{"task", taskName(task)},     {"model_a", modelA},
          {"model_b", modelB},          {"arch", arch},
          {"recover_arch", recoverArch}, {"method", method},
          {"cost", cost},               {"init", init},
          {"tau", tau},                 {"lr", lr},
          {"iterations", iterations},   {"steps", steps}, {"patience", patience},
          {"data", data},               {"split", split},
          {"points", points},           {"landscape_grid", landscapeGrid},
          {"stream", stream},           {"continual_method", continualMethod},
          {"tasks", tasks},             {"epochs", epochs},
          {"train_per_task", double(trainPerTask)}, {"device", device},
          {"seed", QString::number(seed)},
          {"more_models", QJsonArray::fromStringList(moreModels)},
          {"merge_target", mergeTarget}, {"repair", repair},
          {"key", key}, {"residual", residual}, {"normalize", normalize}, {"input", input},
          {"backward", backward}, {"batch_size", batchSize}, {"bn_reset", bnReset}};
}

JobSettings JobSettings::fromJson(const QJsonObject& j) {
  // Missing keys keep the defaults, so older session files still open.
  JobSettings s;
  parseTask(j.value("task").toString(), &s.task);
  auto str = [&](const char* key, QString& field) { field = j.value(key).toString(field); };
  auto num = [&](const char* key, auto& field) {
    field = static_cast<std::decay_t<decltype(field)>>(j.value(key).toDouble(double(field)));
  };
  str("model_a", s.modelA), str("model_b", s.modelB), str("arch", s.arch);
  str("recover_arch", s.recoverArch), str("method", s.method), str("cost", s.cost);
  str("init", s.init), str("data", s.data), str("split", s.split), str("stream", s.stream);
  str("continual_method", s.continualMethod), str("device", s.device);
  num("tau", s.tau), num("lr", s.lr), num("iterations", s.iterations), num("steps", s.steps);
  num("patience", s.patience);
  num("points", s.points), num("landscape_grid", s.landscapeGrid), num("tasks", s.tasks);
  num("epochs", s.epochs), num("train_per_task", s.trainPerTask);
  s.seed = j.value("seed").toString().toULongLong();
  for (const QJsonValue& v : j.value("more_models").toArray()) s.moreModels << v.toString();
  str("merge_target", s.mergeTarget);
  s.repair = j.value("repair").toBool(s.repair);
  str("key", s.key), str("residual", s.residual), str("normalize", s.normalize), str("input", s.input);
  str("backward", s.backward), num("batch_size", s.batchSize);
  s.bnReset = j.value("bn_reset").toBool(s.bnReset);
  return s;
}

}  // namespace rebasin::studio
