#include "app/studio/results.h"

#include <QJsonArray>
#include <QTextStream>

#include <algorithm>
#include <cmath>

namespace rebasin::studio {

namespace {

QJsonValue number(double v) { return std::isfinite(v) ? QJsonValue(v) : QJsonValue(QJsonValue::Null); }
double numberOf(const QJsonValue& v) { return v.isDouble() ? v.toDouble() : qQNaN(); }

template <class T>
QJsonArray array(const QVector<T>& values) {
  QJsonArray a;
  for (const T& v : values) a.append(number(double(v)));
  return a;
}

template <class T>
QVector<T> vectorOf(const QJsonValue& v) {
  QVector<T> out;
  for (const QJsonValue& x : v.toArray()) out.push_back(T(numberOf(x)));
  return out;
}

}  // namespace

void Results::clearForJob(const JobSettings& job) {
  summary = {};
  const QString pair = job.modelA + "|" + job.modelB;
  switch (job.task) {
    case Task::Recover:
      steps.clear(), plans.clear(), recovery.clear(), permutations.clear(), alignment = {};
      break;
    case Task::Align:
      steps.clear(), plans.clear(), permutations.clear(), alignment = {};
      [[fallthrough]];
    case Task::Interpolate:
      landscape.clear();
      if (pair != curvesPair) curves.clear(), curveInfo = {};
      curvesPair = pair;
      break;
    case Task::Continual:
      taskRows.clear();
      break;
    case Task::Merge:  // its alignments report steps and plans too
      merge = {};
      steps.clear(), plans.clear();
      break;
  }
}

void Results::addCurvePoint(const widgets::CurveSample& c) {
  curves.erase(std::remove_if(curves.begin(), curves.end(),
                              [&](const widgets::CurveSample& x) {
                                return x.curve == c.curve && x.split == c.split && x.lambda == c.lambda;
                              }),
               curves.end());
  curves.push_back(c);
}

QJsonObject Results::toJson() const {
  QJsonArray s, c, r, t, l, p;
  for (const auto& x : steps) s.append(QJsonObject{{"step", x.step}, {"cost", number(x.cost)}, {"hard_cost", number(x.hardCost)}});
  for (const auto& x : curves)
    c.append(QJsonObject{{"curve", x.curve}, {"split", x.split}, {"lambda", x.lambda},
                         {"loss", number(x.loss)}, {"accuracy", number(x.accuracy)}});
  for (const auto& x : recovery) r.append(QJsonObject{{"name", x.name}, {"size", double(x.size)}, {"recovered_fraction", x.fraction}});
  for (const auto& x : taskRows) t.append(QJsonObject{{"task", x.task}, {"tasks", x.tasks}, {"accuracy", array(x.accuracy)}});
  for (const auto& x : landscape) {
    QJsonArray marks;
    for (const auto& m : x.marks) marks.append(QJsonObject{{"label", m.label}, {"x", m.x}, {"y", m.y}});
    l.append(QJsonObject{{"row", x.row}, {"rows", x.rows}, {"xs", array(x.xs)}, {"ys", array(x.ys)},
                         {"loss", array(x.loss)}, {"marks", marks}});
  }
  for (const auto& x : plans) {
    QJsonObject o{{"step", x.step}, {"group", x.group}, {"name", x.name}, {"size", double(x.size)},
                  {"shown", x.shown}, {"values", array(x.values)}, {"assignment", array(x.assignment)}};
    if (x.result) o["result"] = true;
    if (!x.reordered.isEmpty()) o["reordered"] = array(x.reordered);
    if (x.heads > 1) {
      o["heads"] = x.heads;
      o["head_values"] = array(x.headValues);
      o["head_assignment"] = array(x.headAssignment);
      o["inner_values"] = array(x.innerValues);
    }
    p.append(o);
  }
  const QJsonObject m{{"models", QJsonArray::fromStringList(merge.models)},
                      {"before", array(merge.before)},
                      {"after", array(merge.after)},
                      {"accuracy", array(merge.accuracy)},
                      {"merged", number(merge.merged)},
                      {"naive_average", number(merge.naiveAverage)},
                      {"ensemble", number(merge.ensemble)},
                      {"split", merge.split}};
  QJsonArray perms;
  for (const auto& x : permutations) perms.append(array(x));
  return {{"objective", s}, {"curves", c}, {"recovery", r}, {"continual", t}, {"landscape", l},
          {"plans", p}, {"permutations", perms}, {"alignment", alignment}, {"merge", m}, {"summary", summary}, {"curves_pair", curvesPair}, {"curve_info", curveInfo}};
}

Results Results::fromJson(const QJsonObject& j) {
  Results out;
  for (const QJsonValue& v : j.value("objective").toArray()) {
    const QJsonObject o = v.toObject();
    out.steps.push_back({o.value("step").toInt(), numberOf(o.value("cost")), numberOf(o.value("hard_cost"))});
  }
  for (const QJsonValue& v : j.value("curves").toArray()) {
    const QJsonObject o = v.toObject();
    out.curves.push_back({o.value("curve").toString(), o.value("split").toString(), o.value("lambda").toDouble(),
                          numberOf(o.value("loss")), numberOf(o.value("accuracy"))});
  }
  for (const QJsonValue& v : j.value("recovery").toArray()) {
    const QJsonObject o = v.toObject();
    out.recovery.push_back({o.value("name").toString(), qint64(o.value("size").toDouble()),
                            o.value("recovered_fraction").toDouble()});
  }
  for (const QJsonValue& v : j.value("continual").toArray()) {
    const QJsonObject o = v.toObject();
    out.taskRows.push_back({o.value("task").toInt(), o.value("tasks").toInt(), vectorOf<double>(o.value("accuracy"))});
  }
  for (const QJsonValue& v : j.value("landscape").toArray()) {
    const QJsonObject o = v.toObject();
    LandscapeRowView row;
    row.row = o.value("row").toInt();
    row.rows = o.value("rows").toInt();
    row.xs = vectorOf<double>(o.value("xs"));
    row.ys = vectorOf<double>(o.value("ys"));
    row.loss = vectorOf<double>(o.value("loss"));
    for (const QJsonValue& m : o.value("marks").toArray())
      row.marks.push_back({m.toObject().value("label").toString(), m.toObject().value("x").toDouble(),
                           m.toObject().value("y").toDouble()});
    out.landscape.push_back(row);
  }
  for (const QJsonValue& v : j.value("plans").toArray()) {
    const QJsonObject o = v.toObject();
    widgets::PlanView p;
    p.step = o.value("step").toInt();
    p.result = o.value("result").toBool();
    p.group = o.value("group").toInt();
    p.name = o.value("name").toString();
    p.size = qint64(o.value("size").toDouble());
    p.shown = o.value("shown").toInt();
    p.values = vectorOf<float>(o.value("values"));
    p.assignment = vectorOf<qint64>(o.value("assignment"));
    p.reordered = vectorOf<float>(o.value("reordered"));
    if (p.reordered.size() != qint64(p.shown) * p.shown) p.reordered.clear();
    p.heads = std::max(1, o.value("heads").toInt(1));
    p.headValues = vectorOf<float>(o.value("head_values"));
    p.headAssignment = vectorOf<qint64>(o.value("head_assignment"));
    p.innerValues = vectorOf<float>(o.value("inner_values"));
    if (p.values.size() == qint64(p.shown) * p.shown) out.plans.insert(p.group, p);
  }
  for (const QJsonValue& v : j.value("permutations").toArray()) out.permutations.push_back(vectorOf<qint64>(v));
  out.alignment = j.value("alignment").toObject();
  out.curveInfo = j.value("curve_info").toObject();
  const QJsonObject m = j.value("merge").toObject();
  for (const QJsonValue& v : m.value("models").toArray()) out.merge.models << v.toString();
  out.merge.before = vectorOf<double>(m.value("before"));
  out.merge.after = vectorOf<double>(m.value("after"));
  out.merge.accuracy = vectorOf<double>(m.value("accuracy"));
  out.merge.merged = numberOf(m.value("merged"));
  out.merge.naiveAverage = numberOf(m.value("naive_average"));
  out.merge.ensemble = numberOf(m.value("ensemble"));
  out.merge.split = m.value("split").toString();
  out.summary = j.value("summary").toObject();
  out.curvesPair = j.value("curves_pair").toString();
  return out;
}

QString Results::csv(const QString& table) const {
  QString text;
  QTextStream out(&text);
  out.setRealNumberPrecision(9);
  if (table == "objective") {
    out << "step,cost,hard_cost\n";
    for (const auto& x : steps) out << x.step << ',' << x.cost << ',' << x.hardCost << '\n';
  } else if (table == "curves") {
    out << "curve,split,lambda,loss,accuracy\n";
    for (const auto& x : curves) out << x.curve << ',' << x.split << ',' << x.lambda << ',' << x.loss << ',' << x.accuracy << '\n';
  } else if (table == "recovery") {
    out << "group,size,recovered_fraction\n";
    for (const auto& x : recovery) out << x.name << ',' << x.size << ',' << x.fraction << '\n';
  } else if (table == "continual") {
    out << "after_task";
    const int tasks = taskRows.isEmpty() ? 0 : taskRows.first().tasks;
    for (int t = 0; t < tasks; ++t) out << ",task_" << t;
    out << '\n';
    for (const auto& r : taskRows) {
      out << r.task;
      for (double a : r.accuracy) out << ',' << a;
      out << '\n';
    }
  } else if (table == "merge") {
    // One row per pair of models (i < j), then one per model and reference: accuracy only.
    out << "model_i,model_j,barrier_before,barrier_after,accuracy\n";
    const int n = merge.count();
    if (merge.before.size() == qsizetype(n) * n && merge.after.size() == merge.before.size())
      for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j)
          out << merge.models[i] << ',' << merge.models[j] << ',' << merge.before[i * n + j] << ','
              << merge.after[i * n + j] << ",\n";
    for (int i = 0; i < n && i < merge.accuracy.size(); ++i) out << merge.models[i] << ",,,," << merge.accuracy[i] << '\n';
    out << "merged,,,," << merge.merged << "\nnaive average,,,," << merge.naiveAverage << "\nensemble,,,,"
        << merge.ensemble << '\n';
  } else if (table == "landscape") {
    out << "row,x,y,loss\n";
    for (const auto& r : landscape)
      for (int c = 0; c < r.loss.size() && c < r.xs.size(); ++c)
        out << r.row << ',' << r.xs[c] << ',' << (r.row < r.ys.size() ? r.ys[r.row] : qQNaN()) << ',' << r.loss[c] << '\n';
  }
  return text;
}

}  // namespace rebasin::studio
