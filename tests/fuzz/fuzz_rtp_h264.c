/* Fuzzes the H.264 depayloader (ingest/rtp.c, ingest/rtp_h264.c); the
 * input format and the checks are in fuzz_rtp_depay.h. */
#define CODEC CW_CODEC_H264
#include "fuzz_rtp_depay.h"
