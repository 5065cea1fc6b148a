/* Congestion per zone (issue 6); see rules.h for the contract and
 * rules_priv.h for what it shares with the other rules. */
#include "rules_priv.h"

#include "bgmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const level_names[] = {"free", "heavy", "jammed"};

/* ---- congestion ---- */

congestion_zone_t *
rules_congestion_zone_new(const cw_rules_t *r, const cw_zone_cfg_t *z)
{
  congestion_zone_t *cz = g_new0(congestion_zone_t, 1);
  cz->cfg = z;
  cz->spans = g_array_new(FALSE, FALSE, sizeof(span_t));
  cz->samples = g_array_new(FALSE, FALSE, sizeof(sample_t));
  cz->pending_since = NO_TIME;
  /* The zone's pixels (by their centres) as runs per row, once. */
  for (int y = 0; y < r->height; y++) {
    int x0 = -1;
    for (int x = 0; x <= r->width; x++) {
      gboolean in =
          x < r->width && cw_polygon_contains(z->polygon, rules_frac(r, x + 0.5f, y + 0.5f));
      if (in && x0 < 0)
        x0 = x;
      else if (!in && x0 >= 0) {
        span_t s = {y, x0, x};
        g_array_append_val(cz->spans, s);
        cz->area += x - x0;
        x0 = -1;
      }
    }
  }
  return cz;
}

void
rules_congestion_zone_free(gpointer p)
{
  congestion_zone_t *cz = p;
  g_array_unref(cz->spans);
  g_array_unref(cz->samples);
  g_free(cz);
}

void
rules_window_clear(congestion_zone_t *cz)
{
  g_array_set_size(cz->samples, 0);
  cz->samples_head = 0;
  cz->occ_sum = cz->speed_sum = 0;
  cz->occ_n = cz->speed_n = 0;
}

static void
congestion_emit(cw_rules_t *r, congestion_zone_t *cz, cw_phase_t phase, gint64 ts)
{
  GString *a = g_string_new("{");
  rules_attr_string(a, "zone", cz->cfg->id);
  g_string_append_printf(a, ",\"level\":\"%s\"", level_names[cz->level]);
  rules_attr_number(a, "occupancy", cz->occ_n ? round(cz->occ_sum / cz->occ_n * 1000) / 1000 : 0);
  if (cz->speed_n)
    rules_attr_number(a, "speed", round(cz->speed_sum / cz->speed_n * 10000) / 10000);
  else
    g_string_append(a, ",\"speed\":null");
  rules_emit(r, "traffic.congestion", phase, cz->incident, ts, cz->incident_start, a);
}

/* When the congestion now confirmed began, as best the samples tell: the
 * windowed mean lags a change by up to the window, so look back (through
 * the window and the samples kept before it) for the unbroken run of
 * short means (ONSET_SPAN_US each) that are congested too; the onset is
 * the middle of the first of them (a step up at t gives about t). */
static gint64
congestion_onset(const cw_rules_t *r, const congestion_zone_t *cz, gint64 fallback)
{
  float heavy = r->cfg->t.heavy_occupancy;
  /* All samples kept, the window's and those before it: a short window
   * sees a rise only after it began. */
  guint n = cz->samples->len;
  const sample_t *s = &g_array_index(cz->samples, sample_t, 0);
  gint64 onset = fallback;
  /* Trailing short means, walked from the newest back; j trails i. */
  double sum = 0;
  int cnt = 0;
  guint j = n;
  for (guint i = n; i > 0; i--) {
    const sample_t *cur = &s[i - 1];
    /* the short window of cur: samples with ts in [cur->ts, cur->ts + span) */
    if (cur->has_occ) {
      sum += cur->occ;
      cnt++;
    }
    while (j > i - 1 && s[j - 1].ts >= cur->ts + ONSET_SPAN_US) {
      if (s[j - 1].has_occ) {
        sum -= s[j - 1].occ;
        cnt--;
      }
      j--;
    }
    if (cnt == 0 || sum / cnt < heavy)
      break;
    onset = MIN(onset, cur->ts + ONSET_SPAN_US / 2);
  }
  return onset;
}

static level_t
congestion_candidate(const cw_rules_t *r, const congestion_zone_t *cz)
{
  const cw_thresholds_t *th = &r->cfg->t;
  if (!cz->occ_n)
    return LEVEL_FREE;
  double occ = cz->occ_sum / cz->occ_n;
  level_t by_occ = occ >= th->jammed_occupancy  ? LEVEL_JAMMED
                   : occ >= th->heavy_occupancy ? LEVEL_HEAVY
                                                : LEVEL_FREE;
  /* Speed only when tracks were seen for a while: a jam whose vehicles the
   * tracker cannot separate is still told by occupancy. */
  int min_n = MAX(3, (int)th->analysis_fps);
  if (cz->speed_n < min_n)
    return by_occ;
  double speed = cz->speed_sum / cz->speed_n;
  level_t by_speed = speed < th->jammed_speed  ? LEVEL_JAMMED
                     : speed < th->heavy_speed ? LEVEL_HEAVY
                                               : LEVEL_FREE;
  /* Dense but flowing traffic is not congestion; slow vehicles on an
   * empty road are not either. */
  return MIN(by_occ, by_speed);
}

static int
cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

void
rules_congestion_update(cw_rules_t *r, congestion_zone_t *cz, const GPtrArray *tracks,
                        const guint8 *mask, gint64 ts)
{
  const cw_thresholds_t *th = &r->cfg->t;
  sample_t s = {.ts = ts};
  if (mask && cz->area > 0) {
    int fg = 0;
    for (guint i = 0; i < cz->spans->len; i++) {
      const span_t *sp = &g_array_index(cz->spans, span_t, i);
      const guint8 *row = mask + (gsize)sp->y * r->width;
      /* A vehicle's blob has holes (windows, a body the colour of the
       * road): the boxes of the tracks seen now cover them. */
      memset(r->row, 0, (size_t)r->width);
      for (guint k = 0; tracks && k < tracks->len; k++) {
        const cw_track_t *t = tracks->pdata[k];
        if (t->missed > 0 || sp->y < (int)t->y || sp->y >= (int)(t->y + t->h))
          continue;
        int x0 = MAX((int)t->x, sp->x0), x1 = MIN((int)(t->x + t->w), sp->x1);
        if (x1 > x0)
          memset(r->row + x0, 1, (size_t)(x1 - x0));
      }
      for (int x = sp->x0; x < sp->x1; x++)
        fg += row[x] == CW_BG_FOREGROUND || r->row[x];
    }
    s.occ = (float)fg / cz->area;
    s.has_occ = TRUE;
  }
  /* The frame's speed: the median of its vehicles' net speeds over the
   * last two seconds, so a box that jumps (a track moving onto the next
   * vehicle of a queue, a blob growing as vehicles merge) does not make a
   * standing queue look as if it flowed. */
  float speeds[64];
  guint ns = 0;
  for (guint i = 0; tracks && i < tracks->len && ns < G_N_ELEMENTS(speeds); i++) {
    const cw_track_t *t = tracks->pdata[i];
    float v;
    if (!t->confirmed || t->missed > 0 ||
        !cw_polygon_contains(cz->cfg->polygon, rules_frac(r, t->gx, t->gy)) ||
        !rules_track_speed(r, t, &v))
      continue;
    speeds[ns++] = v;
  }
  if (ns > 0) {
    qsort(speeds, ns, sizeof speeds[0], cmp_float);
    s.speed_sum = ns % 2 ? speeds[ns / 2] : (speeds[ns / 2 - 1] + speeds[ns / 2]) / 2;
    s.speed_n = 1;
  }
  g_array_append_val(cz->samples, s);
  cz->occ_sum += s.has_occ ? s.occ : 0;
  cz->occ_n += s.has_occ;
  cz->speed_sum += s.speed_sum;
  cz->speed_n += s.speed_n;
  gint64 window = (gint64)(th->congestion_window_s * 1e6);
  while (cz->samples_head < cz->samples->len) {
    const sample_t *old = &g_array_index(cz->samples, sample_t, cz->samples_head);
    if (ts - old->ts < window)
      break;
    cz->occ_sum -= old->has_occ ? old->occ : 0;
    cz->occ_n -= old->has_occ;
    cz->speed_sum -= old->speed_sum;
    cz->speed_n -= old->speed_n;
    cz->samples_head++;
  }
  /* Samples before the window stay ONSET_KEEP_US for congestion_onset. */
  guint old_n = 0;
  while (old_n < cz->samples_head &&
         ts - g_array_index(cz->samples, sample_t, old_n).ts >= ONSET_KEEP_US)
    old_n++;
  if (old_n > 256 && old_n * 2 > cz->samples->len) {
    g_array_remove_range(cz->samples, 0, old_n);
    cz->samples_head -= old_n;
  }
  if (cz->occ_n == 0)
    cz->occ_sum = 0; /* no drift from float round-off */
  if (cz->speed_n == 0)
    cz->speed_sum = 0;

  level_t cand = congestion_candidate(r, cz);
  if (cand == cz->level) {
    cz->pending_since = NO_TIME;
    return;
  }
  if (cz->pending_since == NO_TIME)
    cz->pending_since = ts;
  if (ts - cz->pending_since < (gint64)(th->congestion_hysteresis_s * 1e6))
    return;
  level_t was = cz->level;
  cz->level = cand;
  if (was == LEVEL_FREE) {
    cz->incident = r->next_incident++;
    cz->incident_start = congestion_onset(r, cz, cz->pending_since);
    congestion_emit(r, cz, CW_PHASE_START, ts);
  } else if (cand != LEVEL_FREE) {
    congestion_emit(r, cz, CW_PHASE_UPDATE, ts);
  } else {
    congestion_emit(r, cz, CW_PHASE_END, ts);
    cz->incident = 0;
  }
  cz->pending_since = NO_TIME;
}

void
rules_congestion_end(cw_rules_t *r, congestion_zone_t *cz, gint64 ts)
{
  if (cz->level != LEVEL_FREE) {
    cz->level = LEVEL_FREE;
    congestion_emit(r, cz, CW_PHASE_END, ts);
    cz->incident = 0;
  }
  cz->pending_since = NO_TIME;
}
