// The one way to include QCustomPlot here: qcustomplot.h uses the words signals, slots, emit
// and foreach, which QT_NO_KEYWORDS (needed by torch's headers elsewhere) disables. Define
// them around the include and drop them again so no other header sees them.
#pragma once

#ifdef QT_NO_KEYWORDS
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
#else
#include <qcustomplot.h>
#endif
