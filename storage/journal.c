/* Being written (issue 5). */
#include "journal.h"
