/* Fuzzes the H.265 depayloader (ingest/rtp.c, ingest/rtp_h265.c); the
 * input format and the checks are in fuzz_rtp_depay.h. */
#define CODEC CW_CODEC_H265
#include "fuzz_rtp_depay.h"
