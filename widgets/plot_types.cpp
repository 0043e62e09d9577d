// Metatype registration of the plot value types.
#include "widgets/plot_types.h"

namespace rebasin::widgets {

void registerPlotTypes() {
  qRegisterMetaType<PlanView>("rebasin::widgets::PlanView");
  qRegisterMetaType<CurveSample>("rebasin::widgets::CurveSample");
  qRegisterMetaType<ObjectiveSample>("rebasin::widgets::ObjectiveSample");
  qRegisterMetaType<GroupRecovery>("rebasin::widgets::GroupRecovery");
  qRegisterMetaType<LandscapeMark>("rebasin::widgets::LandscapeMark");
  qRegisterMetaType<MergeView>("rebasin::widgets::MergeView");
  qRegisterMetaType<QVector<GroupRecovery>>("QVector<rebasin::widgets::GroupRecovery>");
  qRegisterMetaType<QVector<LandscapeMark>>("QVector<rebasin::widgets::LandscapeMark>");
}

}  // namespace rebasin::widgets
