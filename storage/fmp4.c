/* Being written (issue 4): MP4 box walking for crash recovery. */
#include "recorder.h"
