/* Unit tests for analytics/analyzer.c: frames of every size and layout
 * scaled without a stray read (run under AddressSanitizer), a box crossing
 * a counting line counted once, a change of frame size or time going back
 * reporting what the old models had, and a flush with nothing analysed
 * reporting nothing. */
#include "analyzer.h"

#include <string.h>

#include <json-glib/json-glib.h>

typedef struct {
  GPtrArray *kinds; /* char*: "kind/phase" */
  int forward, reverse;
} events_t;

static void
on_event(void *opaque, const cw_analytics_event_t *ev)
{
  events_t *e = opaque;
  g_ptr_array_add(e->kinds, g_strdup_printf("%s/%s", ev->kind, cw_phase_name(ev->phase)));
  if (strcmp(ev->kind, "traffic.count") == 0) {
    JsonNode *n = json_from_string(ev->attributes, NULL);
    g_assert_nonnull(n);
    JsonObject *o = json_node_get_object(n);
    e->forward += (int)json_object_get_int_member(o, "forward");
    e->reverse += (int)json_object_get_int_member(o, "reverse");
    json_node_unref(n);
  }
}

static void
events_init(events_t *e)
{
  memset(e, 0, sizeof *e);
  e->kinds = g_ptr_array_new_with_free_func(g_free);
}

static cw_analytics_config_t *
config(const char *json)
{
  cw_analytics_config_t *cfg = NULL;
  cw_error_t err = {0};
  if (cw_analytics_config_parse(json, "test", &cfg, &err) < 0)
    g_error("config: %s", err.msg);
  return cfg;
}

/* An I420 picture with strides wider than the picture, as decoders give:
 * a grey road with sensor noise and a dark box at (bx, by). */
typedef struct {
  int w, h, ys, cs;
  guint8 *y, *u, *v;
} picture_t;

static void
picture_new(picture_t *p, int w, int h)
{
  p->w = w;
  p->h = h;
  p->ys = w + 32;
  p->cs = (w + 1) / 2 + 16;
  /* Exactly as large as the planes need: ASan catches a read past them. */
  p->y = g_malloc((gsize)p->ys * (h - 1) + w);
  p->u = g_malloc((gsize)p->cs * ((h + 1) / 2 - 1) + (w + 1) / 2);
  p->v = g_malloc((gsize)p->cs * ((h + 1) / 2 - 1) + (w + 1) / 2);
}

static void
picture_draw(picture_t *p, GRand *rng, int bx, int by, int bw, int bh)
{
  for (int y = 0; y < p->h; y++)
    for (int x = 0; x < p->w; x++) {
      gboolean in = x >= bx && x < bx + bw && y >= by && y < by + bh;
      p->y[(gsize)y * p->ys + x] = (guint8)(in ? 20 : 120 + g_rand_int_range(rng, -3, 4));
    }
  for (int y = 0; y < (p->h + 1) / 2; y++)
    for (int x = 0; x < (p->w + 1) / 2; x++) {
      p->u[(gsize)y * p->cs + x] = 128;
      p->v[(gsize)y * p->cs + x] = 128;
    }
}

static void
picture_free(picture_t *p)
{
  g_free(p->y);
  g_free(p->u);
  g_free(p->v);
}

static cw_frame_t
frame_of(const picture_t *p, gboolean grey, gint64 ts_us)
{
  cw_frame_t f = {
      .y = p->y,
      .u = grey ? NULL : p->u,
      .v = grey ? NULL : p->v,
      .width = p->w,
      .height = p->h,
      .y_stride = p->ys,
      .uv_stride = p->cs,
      .ts_us = ts_us,
  };
  return f;
}

static void
test_sizes(void)
{
  static const struct {
    int w, h, work;
  } cases[] = {
      {16, 16, 320},    {17, 13, 320},     {321, 241, 320},   {333, 187, 320},
      {640, 360, 320},  {1280, 720, 320},  {1920, 1080, 320}, {1280, 720, 16},
      {3840, 2160, 16}, {3840, 2160, 400}, {720, 576, 1000},  {2, 2, 320},
  };
  cw_analytics_config_t *cfg = config(NULL);
  GRand *rng = g_rand_new_with_seed(1);

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    events_t ev;
    events_init(&ev);
    cw_analyzer_t *a = cw_analyzer_new(cfg, cases[i].work, on_event, &ev);
    picture_t p;
    picture_new(&p, cases[i].w, cases[i].h);
    picture_draw(&p, rng, cases[i].w / 3, cases[i].h / 3, cases[i].w / 4 + 1, cases[i].h / 4 + 1);
    for (int k = 0; k < 4; k++) {
      cw_frame_t f = frame_of(&p, k % 2 == 1, k * 200000);
      cw_analyzer_push(a, &f);
    }
    cw_analyzer_flush(a);
    cw_analyzer_free(a);
    picture_free(&p);
    g_ptr_array_unref(ev.kinds);
  }
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

/* Pushes a box crossing the picture's middle at 10 fps; returns the time
 * after the last frame. */
static gint64
push_crossing(cw_analyzer_t *a, int w, int h, gint64 t0, gboolean rightwards, GRand *rng)
{
  picture_t p;
  picture_new(&p, w, h);
  const int frames = 60, bw = w / 10, bh = h / 9;
  gint64 t = t0;
  for (int k = 0; k < frames; k++, t += 100000) {
    /* Still for the first 3.5 s (the background is learned and settled:
     * what moves while it settles leaves a ghost behind for a while),
     * then across. */
    int x = k < 35 ? -bw : (k - 35) * (w + bw) / 24 - bw;
    if (!rightwards)
      x = w - bw - x;
    picture_draw(&p, rng, x, h / 2, bw, bh);
    cw_frame_t f = frame_of(&p, FALSE, t);
    cw_analyzer_push(a, &f);
  }
  picture_free(&p);
  return t;
}

static void
test_count(void)
{
  cw_analytics_config_t *cfg =
      config("{\"lines\": [{\"id\": \"m\", \"from\": [0.5, 0.95], \"to\": [0.5, 0.05]}]}");
  GRand *rng = g_rand_new_with_seed(2);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 320, on_event, &ev);

  gint64 t = push_crossing(a, 640, 360, 0, TRUE, rng);
  push_crossing(a, 640, 360, t, FALSE, rng);
  g_assert_cmpint(ev.forward + ev.reverse, ==, 0); /* counts wait for the interval's end */
  cw_analyzer_flush(a);
  g_assert_cmpint(ev.forward, ==, 1);
  g_assert_cmpint(ev.reverse, ==, 1);

  cw_analyzer_free(a);
  g_ptr_array_unref(ev.kinds);
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

static void
test_size_change(void)
{
  cw_analytics_config_t *cfg =
      config("{\"lines\": [{\"id\": \"m\", \"from\": [0.5, 0.95], \"to\": [0.5, 0.05]}]}");
  GRand *rng = g_rand_new_with_seed(3);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 320, on_event, &ev);

  gint64 t = push_crossing(a, 640, 360, 0, TRUE, rng);
  g_assert_cmpint(ev.forward, ==, 0);
  /* The camera's stream changes resolution: the old models report. */
  picture_t p;
  picture_new(&p, 1280, 720);
  picture_draw(&p, rng, -200, 0, 10, 10);
  cw_frame_t f = frame_of(&p, FALSE, t);
  cw_analyzer_push(a, &f);
  g_assert_cmpint(ev.forward, ==, 1);
  picture_free(&p);
  /* ... and the new ones work on at the new size. */
  push_crossing(a, 1280, 720, t + 100000, FALSE, rng);
  cw_analyzer_flush(a);
  g_assert_cmpint(ev.forward, ==, 1);
  g_assert_cmpint(ev.reverse, ==, 1);

  cw_analyzer_free(a);
  g_ptr_array_unref(ev.kinds);
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

/* A seek back (or a restarted stream): time goes back, the old models
 * report what they had and new ones start; a repeated instant is ignored. */
static void
test_time_back(void)
{
  cw_analytics_config_t *cfg =
      config("{\"lines\": [{\"id\": \"m\", \"from\": [0.5, 0.95], \"to\": [0.5, 0.05]}]}");
  GRand *rng = g_rand_new_with_seed(4);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 320, on_event, &ev);

  gint64 t = push_crossing(a, 640, 360, 0, TRUE, rng);
  picture_t p;
  picture_new(&p, 640, 360);
  picture_draw(&p, rng, -100, 0, 10, 10);
  cw_frame_t f = frame_of(&p, FALSE, t - 100000); /* the last frame's time again */
  cw_analyzer_push(a, &f);
  g_assert_cmpint(ev.forward, ==, 0);
  picture_free(&p);
  push_crossing(a, 640, 360, 0, FALSE, rng);
  g_assert_cmpint(ev.forward, ==, 1);
  cw_analyzer_flush(a);
  g_assert_cmpint(ev.forward, ==, 1);
  g_assert_cmpint(ev.reverse, ==, 1);

  cw_analyzer_free(a);
  g_ptr_array_unref(ev.kinds);
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

static void
test_empty_flush(void)
{
  cw_analytics_config_t *cfg = config(NULL);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 0, on_event, &ev);
  cw_analyzer_flush(a);
  cw_analyzer_flush(a);
  g_assert_cmpuint(ev.kinds->len, ==, 0);
  cw_analyzer_free(a);
  cw_analyzer_free(NULL);
  g_ptr_array_unref(ev.kinds);
  cw_analytics_config_free(cfg);
}

/* Frames at 10 fps, black (all at 20) for frames [black0, black1), one
 * vehicle coming down across a line in the middle from frame vehicle0;
 * asserts it counted once, forward, and nothing the other way. */
static void
run_black_then_vehicle(guint32 seed, int black0, int black1, int vehicle0, int frames)
{
  cw_analytics_config_t *cfg =
      config("{\"lines\": [{\"id\": \"m\", \"from\": [0.05, 0.5], \"to\": [0.95, 0.5]}]}");
  GRand *rng = g_rand_new_with_seed(seed);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 320, on_event, &ev);
  picture_t p;
  picture_new(&p, 640, 360);
  for (int k = 0; k < frames; k++) {
    if (k >= black0 && k < black1)
      picture_draw(&p, rng, 0, 0, 640, 360);
    else if (k >= vehicle0)
      picture_draw(&p, rng, 300, 20 + 10 * (k - vehicle0), 64, 40);
    else
      picture_draw(&p, rng, -100, 0, 10, 10);
    cw_frame_t f = frame_of(&p, FALSE, (gint64)k * 100000);
    cw_analyzer_push(a, &f);
  }
  cw_analyzer_flush(a);
  g_assert_cmpint(ev.forward, ==, 1);
  g_assert_cmpint(ev.reverse, ==, 0);
  picture_free(&p);
  cw_analyzer_free(a);
  g_ptr_array_unref(ev.kinds);
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

/* The picture goes black (a cut cable) and comes back: the frames before
 * picture health calls it blind are almost all foreground, and must not
 * leave a giant track that then takes the first vehicle after it (its
 * ground point jumping from the picture's bottom up across the line: a
 * false count the wrong way). Black from 3 s to 9 s; the background is
 * learnt again from 9 s (warm-up and settling, 3 s); the vehicle comes at
 * 12.5 s. */
static void
test_blackout_resume(void)
{
  run_black_then_vehicle(5, 30, 90, 125, 160);
}

/* Black for 1.5 s only, too short for picture health to call it: every
 * pixel foreground, and the background's gain dragged down with it, so
 * that afterwards the whole picture stays foreground. Those frames track
 * nothing, and after 2 s of them the background is learnt again: the
 * vehicle that comes then is counted, once. */
static void
test_brief_black(void)
{
  run_black_then_vehicle(6, 30, 45, 95, 130);
}

/* A vehicle that stood there while the background was learnt, then left:
 * the road where it stood shows as foreground, a ghost that never moved.
 * Standing vehicles are kept from the background's learning, but only
 * those that came from elsewhere: the ghost fades, and never becomes a
 * stopped vehicle in the no-stopping zone it lies in. */
static void
test_ghost_fades(void)
{
  cw_analytics_config_t *cfg =
      config("{\"zones\": [{\"id\": \"z\", \"kind\": \"no_stopping\","
             "             \"polygon\": [[0.3, 0.3], [0.7, 0.3], [0.7, 0.8], [0.3, 0.8]]}],"
             " \"thresholds\": {\"stopped_s\": 8}}");
  GRand *rng = g_rand_new_with_seed(7);
  events_t ev;
  events_init(&ev);
  cw_analyzer_t *a = cw_analyzer_new(cfg, 320, on_event, &ev);
  picture_t p;
  picture_new(&p, 640, 360);
  for (int k = 0; k < 400; k++) { /* 40 s at 10 fps; gone at 10 s */
    if (k < 100)
      picture_draw(&p, rng, 290, 150, 64, 40);
    else
      picture_draw(&p, rng, -100, 0, 10, 10);
    cw_frame_t f = frame_of(&p, FALSE, (gint64)k * 100000);
    cw_analyzer_push(a, &f);
  }
  cw_analyzer_flush(a);
  for (guint i = 0; i < ev.kinds->len; i++)
    g_assert_false(g_str_has_prefix(ev.kinds->pdata[i], "traffic.stopped_vehicle"));
  picture_free(&p);
  cw_analyzer_free(a);
  g_ptr_array_unref(ev.kinds);
  g_rand_free(rng);
  cw_analytics_config_free(cfg);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/analyzer/sizes", test_sizes);
  g_test_add_func("/analyzer/count", test_count);
  g_test_add_func("/analyzer/size_change", test_size_change);
  g_test_add_func("/analyzer/time_back", test_time_back);
  g_test_add_func("/analyzer/blackout_resume", test_blackout_resume);
  g_test_add_func("/analyzer/brief_black", test_brief_black);
  g_test_add_func("/analyzer/ghost_fades", test_ghost_fades);
  g_test_add_func("/analyzer/empty_flush", test_empty_flush);
  return g_test_run();
}
