/* ev_load: a steady producer of events for the event writer's fault tests
 * and benchmark. Submits --rate events a second for --seconds through
 * cw_event_writer (journal under --journal, PostgreSQL from the PG*
 * variables), with ids the test can recompute: event n of run R is
 * 00000000-RRRR-4000-8000-nnnnnnnnnnnn (hex). Every 100 ms it rewrites
 * --progress with "submitted accepted committed inserted" so a test that
 * kills it knows what had been accepted by then. At the end it waits up to
 * --drain seconds for PostgreSQL to take everything and prints the stats. */
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "event_writer.h"

static void
write_progress(const char *path, const cw_event_writer_stats_t *st)
{
  if (!path)
    return;
  char *tmp = g_strconcat(path, ".tmp", NULL);
  char *text = g_strdup_printf("%" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT
                               " %" G_GUINT64_FORMAT "\n",
                               st->submitted, st->accepted, st->committed, st->inserted);
  /* Renamed into place: a reader never sees half a line. */
  if (g_file_set_contents(tmp, text, -1, NULL))
    g_rename(tmp, path);
  g_free(text);
  g_free(tmp);
}

int
main(int argc, char **argv)
{
  char *journal = NULL, *progress = NULL, *node = NULL;
  gint run = 1, rate = 1000, seconds = 10, drain = 30, start_at = 0, batch = 0;
  GOptionEntry entries[] = {
      {"journal", 0, 0, G_OPTION_ARG_FILENAME, &journal, "Journal folder", "DIR"},
      {"progress", 0, 0, G_OPTION_ARG_FILENAME, &progress, "Progress file", "FILE"},
      {"node", 0, 0, G_OPTION_ARG_STRING, &node, "Node name", "NAME"},
      {"run", 0, 0, G_OPTION_ARG_INT, &run, "Run number in the ids (1..65535)", "R"},
      {"start", 0, 0, G_OPTION_ARG_INT, &start_at, "First event number", "N"},
      {"rate", 0, 0, G_OPTION_ARG_INT, &rate, "Events a second", "N"},
      {"batch", 0, 0, G_OPTION_ARG_INT, &batch, "Events per INSERT (default: the writer's)", "N"},
      {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "How long to produce", "S"},
      {"drain", 0, 0, G_OPTION_ARG_INT, &drain, "Seconds to wait for the database at the end", "S"},
      G_OPTION_ENTRY_NULL};
  GOptionContext *oc = g_option_context_new("- event writer load");
  g_option_context_add_main_entries(oc, entries, NULL);
  GError *gerr = NULL;
  if (!g_option_context_parse(oc, &argc, &argv, &gerr) || !journal || rate <= 0) {
    fprintf(stderr, "ev_load: %s\n", gerr ? gerr->message : "--journal and --rate > 0 needed");
    return 2;
  }
  g_option_context_free(oc);
  cw_event_writer_options_t o = {.journal_dir = journal,
                                 .node = node ? node : "load-node",
                                 .conninfo = "",
                                 .batch_max = (guint)MAX(batch, 0)};
  cw_error_t err;
  cw_event_writer_t *w = cw_event_writer_new(&o, &err);
  if (!w) {
    fprintf(stderr, "ev_load: %s\n", err.msg);
    return 1;
  }
  gint64 t0 = g_get_monotonic_time(), next_progress = t0;
  gint64 total = (gint64)rate * seconds;
  cw_event_writer_stats_t st;
  for (gint64 n = 0; n < total; n++) {
    gint64 due = t0 + n * G_USEC_PER_SEC / rate;
    gint64 now = g_get_monotonic_time();
    if (due > now)
      g_usleep((gulong)(due - now));
    cw_event_t ev = {
        .camera_id = 1 + (n % 50),
        .kind = "traffic.count",
        .start_us = g_get_real_time(),
        .attributes = "{\"line\":\"north\",\"count\":3}",
    };
    g_snprintf(ev.id, sizeof ev.id, "00000000-%04x-4000-8000-%012" G_GINT64_MODIFIER "x",
               (guint)run, (guint64)(start_at + n));
    cw_event_writer_submit(w, &ev);
    if (g_get_monotonic_time() >= next_progress) {
      cw_event_writer_stats(w, &st);
      write_progress(progress, &st);
      next_progress += 100 * 1000;
    }
  }
  gint64 deadline = g_get_monotonic_time() + (gint64)drain * G_USEC_PER_SEC;
  do {
    g_usleep(100 * 1000);
    cw_event_writer_stats(w, &st);
    write_progress(progress, &st);
    /* Done once every submitted event is journaled (or refused) and every
     * accepted one committed (or refused by the database). */
  } while ((st.accepted + st.refused_queue_full + st.refused_journal_full < st.submitted ||
            st.committed + st.rejected < st.accepted) &&
           g_get_monotonic_time() < deadline);
  gint64 p50 = cw_event_writer_commit_latency(w, 0.5),
         p99 = cw_event_writer_commit_latency(w, 0.99);
  cw_event_writer_free(w, 2000);
  printf("commit latency p50 %" G_GINT64_FORMAT " ms p99 %" G_GINT64_FORMAT " ms\n",
         p50 < 0 ? -1 : p50 / 1000, p99 < 0 ? -1 : p99 / 1000);
  printf("submitted %" G_GUINT64_FORMAT " accepted %" G_GUINT64_FORMAT
         " committed %" G_GUINT64_FORMAT " inserted %" G_GUINT64_FORMAT
         " rejected %" G_GUINT64_FORMAT " refused %" G_GUINT64_FORMAT
         " reconnects %" G_GUINT64_FORMAT "\n",
         st.submitted, st.accepted, st.committed, st.inserted, st.rejected,
         st.refused_queue_full + st.refused_journal_full, st.reconnects);
  g_free(journal);
  g_free(progress);
  g_free(node);
  return st.committed + st.rejected < st.accepted ? 3 : 0;
}
