// The one-click teaching demos: settings that need no files (the align demo's two MNIST MLPs
// are embedded in the executable and copied out to the cache folder on first use).
#pragma once

#include <QString>
#include <QStringList>

#include "app/studio/job_settings.h"

namespace rebasin::studio {

QStringList demoNames();  // "recover", "align", "continual", "vit"
// False with a reason when the name is unknown or the demo's files cannot be prepared.
bool demoSettings(const QString& name, JobSettings* settings, QString* error);

// Registers the embedded resources (icon, demo models) of the static studio library.
void initStudioResources();

}  // namespace rebasin::studio
