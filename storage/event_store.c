/* Being written (issue 5). */
#include "event_store.h"
