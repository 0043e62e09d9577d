#include "jobs/curve_report.h"

#include "eval/interpolation.h"

namespace rebasin::jobs {

CurveReport curve_report(const eval::Curve& c) { return {c.lambdas, c.loss, c.accuracy, c.barrier}; }

}  // namespace rebasin::jobs
