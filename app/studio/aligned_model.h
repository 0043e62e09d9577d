// The result of an alignment as the studio keeps it (both models, the permutations and aligned
// B, for exports and a later interpolation): the jobs layer's. Internal to the job sources.
#pragma once

#include "app/studio/jobs.h"
#include "jobs/align_job.h"
