// eval::Curve as a report's CurveReport (reports.h).
#pragma once

#include "jobs/reports.h"

namespace rebasin::eval {
struct Curve;
}

namespace rebasin::jobs {

CurveReport curve_report(const eval::Curve& c);

}  // namespace rebasin::jobs
