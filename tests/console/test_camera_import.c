/* Unit tests for ops-console/camera_import.c: CSV text in, camera specs
 * (with the line each came from) or "SOURCE:LINE: field: reason" problems
 * out. Every bad row is reported in one pass with the physical line where
 * it starts, and a password never appears in a problem. No database. */
#include "camera_import.h"

#include <string.h>

#include "camera.h"

#define PASSWORD "S3cr3t-P4ss"
#define HEADER "name,url,username,password,lat,lon,road,direction,tags\n"
#define SRC "cams.csv"

typedef struct {
  GPtrArray *specs;
  GArray *lines;
  GString *problems;
  guint count;
} result_t;

static void
run_len(result_t *r, const char *source, const char *text, gsize len)
{
  r->specs = g_ptr_array_new_with_free_func(cw_camera_spec_free);
  r->lines = g_array_new(FALSE, FALSE, sizeof(guint));
  r->problems = g_string_new(NULL);
  r->count = cw_camera_import_parse(source, text, len, r->specs, r->lines, r->problems);
  g_assert_cmpuint(r->specs->len, ==, r->lines->len);
  /* The caller imports nothing unless the count is 0: they agree. */
  if (r->count == 0)
    g_assert_cmpstr(r->problems->str, ==, "");
  else
    g_assert_cmpuint(r->problems->len, >, 0);
  /* Whatever went wrong, the secret is not in the words. */
  g_assert_null(strstr(r->problems->str, PASSWORD));
  g_assert_null(strstr(r->problems->str, "S3cr3t"));
}

/* Parses a NUL-terminated text; the buffer is copied to exactly its length
 * so ASan sees any read past it. */
static void
run(result_t *r, const char *text)
{
  gsize len = strlen(text);
  char *copy = g_memdup2(text, len ? len : 1);
  run_len(r, SRC, copy, len);
  g_free(copy);
}

static void
result_clear(result_t *r)
{
  g_ptr_array_unref(r->specs);
  g_array_unref(r->lines);
  g_string_free(r->problems, TRUE);
}

static const cw_camera_spec_t *
spec_at(const result_t *r, guint i)
{
  return g_ptr_array_index(r->specs, i);
}

static guint
line_at(const result_t *r, guint i)
{
  return g_array_index(r->lines, guint, i);
}

/* The problems text is exactly these lines, each ended by '\n'. */
static void
assert_problems(const result_t *r, const char *const *want)
{
  GString *joined = g_string_new(NULL);
  guint n = 0;
  for (; want[n]; n++)
    g_string_append_printf(joined, "%s\n", want[n]);
  g_assert_cmpstr(r->problems->str, ==, joined->str);
  g_string_free(joined, TRUE);
}

/* The import of text fails with count problems, exactly the lines want
 * (NULL-terminated), and no specs. */
static void
expect_problems(const char *text, guint count, const char *const *want)
{
  result_t r;
  run(&r, text);
  assert_problems(&r, want);
  g_assert_cmpuint(r.count, ==, count);
  g_assert_cmpuint(r.specs->len, ==, 0);
  result_clear(&r);
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- good files -------------------------------------------------------- */

static void
test_good_file(void)
{
  /* Columns in another order, quoted commas, doubled quotes, CRLF, a
   * quoted field over two lines, optional columns, no final line end. */
  static const char text[] =
      "tags,direction,Road,lon,lat,password,username,url,name,enabled,substream_url\r\n"
      "\"bus,school\",ne,\"High St, north\",-0.1278,51.5074,\"pa,ss\"\"x\",admin,"
      "rtsp://cam1.example/s,cam-1,yes,rtsp://cam1.example/sub\r\n"
      ",,\"The \"\"Old\"\" Road\",,,,,\"rtsp://cam2.example:554/live?a=1,2\",Cam-2,,\r\n"
      "\"night,\r\nBus\",S,,,,,,rtsp://cam3/s,cam-3,false,\r\n"
      ",,,,,,,rtsp://cam4/s,cam-4,0,";
  result_t r;
  run(&r, text);
  g_assert_cmpstr(r.problems->str, ==, "");
  g_assert_cmpuint(r.count, ==, 0);
  g_assert_cmpuint(r.specs->len, ==, 4);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  g_assert_cmpuint(line_at(&r, 1), ==, 3);
  g_assert_cmpuint(line_at(&r, 2), ==, 4);
  g_assert_cmpuint(line_at(&r, 3), ==, 6);

  const cw_camera_spec_t *s = spec_at(&r, 0);
  g_assert_cmpstr(s->name, ==, "cam-1");
  g_assert_cmpstr(s->url, ==, "rtsp://cam1.example/s");
  g_assert_cmpstr(s->substream_url, ==, "rtsp://cam1.example/sub");
  g_assert_cmpstr(s->username, ==, "admin");
  g_assert_cmpstr(s->password, ==, "pa,ss\"x");
  g_assert_true(s->has_lat && s->has_lon);
  g_assert_cmpfloat_with_epsilon(s->lat, 51.5074, 1e-12);
  g_assert_cmpfloat_with_epsilon(s->lon, -0.1278, 1e-12);
  g_assert_cmpstr(s->road, ==, "High St, north");
  g_assert_cmpstr(s->direction, ==, "NE");
  g_assert_cmpuint(g_strv_length(s->tags), ==, 2);
  g_assert_cmpstr(s->tags[0], ==, "bus");
  g_assert_cmpstr(s->tags[1], ==, "school");
  g_assert_true(s->enabled);

  s = spec_at(&r, 1);
  g_assert_cmpstr(s->name, ==, "Cam-2");
  g_assert_cmpstr(s->url, ==, "rtsp://cam2.example:554/live?a=1,2");
  g_assert_cmpstr(s->road, ==, "The \"Old\" Road");
  g_assert_null(s->username);
  g_assert_null(s->password);
  g_assert_null(s->direction);
  g_assert_null(s->substream_url);
  g_assert_false(s->has_lat || s->has_lon);
  g_assert_true(s->enabled);

  s = spec_at(&r, 2);
  g_assert_cmpstr(s->name, ==, "cam-3");
  g_assert_cmpstr(s->direction, ==, "S");
  g_assert_cmpuint(g_strv_length(s->tags), ==, 2);
  g_assert_cmpstr(s->tags[0], ==, "bus");
  g_assert_cmpstr(s->tags[1], ==, "night");
  g_assert_false(s->enabled);

  s = spec_at(&r, 3);
  g_assert_cmpstr(s->name, ==, "cam-4");
  g_assert_false(s->enabled);
  result_clear(&r);
}

static void
test_good_credentials_in_url(void)
{
  result_t r;
  run(&r, HEADER "cam-1,rtsp://admin:" PASSWORD "@cam1/s,,,,,,,\n");
  g_assert_cmpuint(r.count, ==, 0);
  g_assert_cmpuint(r.specs->len, ==, 1);
  const cw_camera_spec_t *s = spec_at(&r, 0);
  g_assert_cmpstr(s->url, ==, "rtsp://cam1/s");
  g_assert_cmpstr(s->username, ==, "admin");
  g_assert_cmpstr(s->password, ==, PASSWORD);
  result_clear(&r);
}

static void
test_good_bom_and_blank_lines(void)
{
  result_t r;
  run(&r, "\xef\xbb\xbf" HEADER "\n"
          "cam-1,rtsp://cam1/s,,,,,,,\n"
          "\n\n"
          "cam-2,rtsp://cam2/s,,,,,,,\n");
  g_assert_cmpstr(r.problems->str, ==, "");
  g_assert_cmpuint(r.specs->len, ==, 2);
  g_assert_cmpuint(line_at(&r, 0), ==, 3);
  g_assert_cmpuint(line_at(&r, 1), ==, 6);
  g_assert_cmpstr(spec_at(&r, 0)->name, ==, "cam-1");
  result_clear(&r);
}

static void
test_header_case_and_spaces(void)
{
  result_t r;
  run(&r, " Name ,URL,UserName,password,LAT,lon,road,direction, Tags\n"
          "cam-1,rtsp://cam1/s,,,1,2,,,\n");
  g_assert_cmpstr(r.problems->str, ==, "");
  g_assert_cmpuint(r.specs->len, ==, 1);
  g_assert_cmpfloat(spec_at(&r, 0)->lat, ==, 1);
  result_clear(&r);
}

/* ---- header problems --------------------------------------------------- */

static void
test_header_missing_column(void)
{
  expect_problems("name,url,username,password,lat,lon,direction,tags\n"
                  "cam-1,rtsp://cam1/s,,,,,,\n",
                  1, LINES("cams.csv:1: header: missing column 'road'"));
  expect_problems("name\ncam-1\n", 8,
                  LINES("cams.csv:1: header: missing column 'url'",
                        "cams.csv:1: header: missing column 'username'",
                        "cams.csv:1: header: missing column 'password'",
                        "cams.csv:1: header: missing column 'lat'",
                        "cams.csv:1: header: missing column 'lon'",
                        "cams.csv:1: header: missing column 'road'",
                        "cams.csv:1: header: missing column 'direction'",
                        "cams.csv:1: header: missing column 'tags'"));
}

static void
test_header_unknown_column(void)
{
  /* Rows are not read against a broken header: only its problem shows. */
  expect_problems("name,url,username,password,lat,lon,road,direction,tags,colour\n"
                  "cam-1,rtsp://cam1/s,,,north,,,,,red\n",
                  1,
                  LINES("cams.csv:1: header: unknown column 'colour' (columns: name, url, "
                        "username, password, lat, lon, road, direction, tags, substream_url, "
                        "enabled, transport)"));
}

static void
test_header_duplicate_column(void)
{
  expect_problems("name,url,username,password,lat,lon,road,direction,tags,NAME\n"
                  "cam-1,rtsp://cam1/s,,,,,,,,cam-2\n",
                  1, LINES("cams.csv:1: header: column 'name' appears twice"));
}

static void
test_empty_file(void)
{
  const char *const *want =
      LINES("cams.csv:1: header: file is empty (expected a header line naming the columns)");
  expect_problems("", 1, want);
  expect_problems("\n\n\r\n", 1, want);
}

static void
test_header_only(void)
{
  const char *const *want = LINES("cams.csv:1: row: no cameras after the header");
  expect_problems(HEADER, 1, want);
  expect_problems(HEADER "\n\n", 1, want);
}

/* ---- row problems ------------------------------------------------------ */

static void
test_row_field_count(void)
{
  result_t r;
  run(&r, HEADER "cam-1,rtsp://cam1/s,,,,,,,\n"
                 "cam-2,rtsp://cam2/s,,,,,,\n"
                 "cam-3,rtsp://cam3/s,,,,,,,,\n"
                 "cam-4\n");
  assert_problems(&r, LINES("cams.csv:3: row: has 8 fields but the header has 9",
                            "cams.csv:4: row: has 10 fields but the header has 9",
                            "cams.csv:5: row: has 1 fields but the header has 9"));
  g_assert_cmpuint(r.count, ==, 3);
  g_assert_cmpuint(r.specs->len, ==, 1);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  result_clear(&r);
}

/* CSV syntax problems carry the reader's reason with its "line N: " taken
 * off, and the reader picks up again on the next line. */
static void
test_row_stray_quote(void)
{
  result_t r;
  run(&r, HEADER "cam-1,rtsp://cam1/s,ad\"min,,,,,,\n"
                 "cam-2,rtsp://cam2/s,,,,,,,\n"
                 "cam-3,\"rtsp://cam3/s\"x,,,,,,,\n"
                 "cam-4,rtsp://cam4/s,,,,,,,\n");
  assert_problems(&r, LINES("cams.csv:2: row: quote character inside an unquoted field 3 (quote "
                            "the whole field and double the quote)",
                            "cams.csv:4: row: unexpected text after closing quote in field 2"));
  g_assert_cmpuint(r.count, ==, 2);
  /* The good rows around them were still read, with their lines. */
  g_assert_cmpuint(r.specs->len, ==, 2);
  g_assert_cmpuint(line_at(&r, 0), ==, 3);
  g_assert_cmpuint(line_at(&r, 1), ==, 5);
  result_clear(&r);
}

static void
test_row_unterminated_quote(void)
{
  result_t r;
  run(&r, HEADER "cam-1,rtsp://cam1/s,,,,,,,\n"
                 "cam-2,rtsp://cam2/s,,,,,\"High St,,\n"
                 "cam-3,rtsp://cam3/s,,,,,,,\n");
  /* It swallows the rest of the input, so that is the one problem. */
  assert_problems(&r, LINES("cams.csv:3: row: unterminated quoted field (the quote opened on "
                            "line 3 is never closed)"));
  g_assert_cmpuint(r.count, ==, 1);
  g_assert_cmpuint(r.specs->len, ==, 1);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  result_clear(&r);
}

static void
test_row_wrong_types(void)
{
  expect_problems(HEADER "cam-1,rtsp://cam1/s,,,north,0,,,\n", 1,
                  LINES("cams.csv:2: lat: not a number"));
  /* Every bad field of a row is named, in the header's column order. */
  expect_problems("direction,lat,name,url,username,password,lon,road,tags\n"
                  "up,north,-cam,ftp://h/,,,200,,bad tag\n",
                  6,
                  LINES("cams.csv:2: direction: must be one of N, NE, E, SE, S, SW, W, NW (the "
                        "way the traffic in view travels)",
                        "cams.csv:2: lat: not a number",
                        "cams.csv:2: name: must start with a letter or digit",
                        "cams.csv:2: url: scheme must be rtsp or rtsps",
                        "cams.csv:2: lon: must be between -180 and 180",
                        "cams.csv:2: tags: tag 'bad tag' may hold only letters, digits, '-' and "
                        "'_'"));
  /* Cross-field rules come after the fields pass. */
  expect_problems(HEADER "cam-1,rtsp://cam1/s,,,51.5,,,,\n", 1,
                  LINES("cams.csv:2: lon: lat and lon go together; give both or neither"));
  expect_problems(HEADER ",rtsp://cam1/s,,,,,,,\n", 1, LINES("cams.csv:2: name: required"));
  expect_problems(HEADER "cam-1,,,,,,,,\n", 1, LINES("cams.csv:2: url: required"));
}

static void
test_duplicate_names(void)
{
  result_t r;
  run(&r, HEADER "Cam-1,rtsp://cam1/s,,,,,,,\n"
                 "cam-2,rtsp://cam2/s,,,,,,,\n"
                 "cam-1,rtsp://cam3/s,,,,,,,\n"
                 "CAM-1,rtsp://cam4/s,,,,,,,\n");
  assert_problems(&r, LINES("cams.csv:4: name: 'cam-1' is already used on line 2 (names are "
                            "compared regardless of case)",
                            "cams.csv:5: name: 'CAM-1' is already used on line 2 (names are "
                            "compared regardless of case)"));
  g_assert_cmpuint(r.count, ==, 2);
  g_assert_cmpuint(r.specs->len, ==, 2);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  g_assert_cmpuint(line_at(&r, 1), ==, 3);
  result_clear(&r);
}

static void
test_many_bad_rows_one_pass(void)
{
  /* The number at the end of each line is its physical line number. */
  static const char text[] = HEADER             /* 1 */
      "cam-1,rtsp://cam1/s,,,,,,,\n"            /* 2 */
      "cam-2,rtsp://cam2/s,,,,,\"Line1\n"       /* 3 */
      "Line2\",,\n"                             /* 4 */
      "cam-3,rtsp://cam3/s,,,91,0,,,\n"         /* 5 */
      "cam-4,rtsp://cam4/s,,,,,,,\"a,\r\n"      /* 6 */
      "b,\n"                                    /* 7 */
      "c\"\n"                                   /* 8 */
      "cam-5,rtsp://cam5/s,,,,,,up,\n"          /* 9 */
      "\n"                                      /* 10 */
      "cam-6,rtsp://cam6/s,x\n"                 /* 11 */
      "cam-7,rtsp://cam7/s,,,,,,,\n"            /* 12 */
      "cam-8,rtsp://cam8/s,,,,,,,\"\"\"x\"\"\n" /* 13 */
      "\"\n"                                    /* 14 */
      "cam-9,rtsp://cam9/s,,,,,,,x!\n";         /* 15 */
  result_t r;
  run(&r, text);
  assert_problems(&r, LINES("cams.csv:3: road: contains a control character",
                            "cams.csv:5: lat: must be between -90 and 90",
                            "cams.csv:9: direction: must be one of N, NE, E, SE, S, SW, W, NW "
                            "(the way the traffic in view travels)",
                            "cams.csv:11: row: has 3 fields but the header has 9",
                            "cams.csv:13: tags: tag '\"x\"' may hold only letters, digits, '-' "
                            "and '_'",
                            "cams.csv:15: tags: tag 'x!' may hold only letters, digits, '-' and "
                            "'_'"));
  g_assert_cmpuint(r.count, ==, 6);
  g_assert_cmpuint(r.specs->len, ==, 3);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  g_assert_cmpuint(line_at(&r, 1), ==, 6);
  g_assert_cmpuint(line_at(&r, 2), ==, 12);
  g_assert_cmpstr(spec_at(&r, 1)->name, ==, "cam-4");
  g_assert_cmpuint(g_strv_length(spec_at(&r, 1)->tags), ==, 3);
  result_clear(&r);
}

static void
test_large_file_one_bad_row(void)
{
  GString *s = g_string_new(HEADER);
  for (guint line = 2; line <= 10001; line++) {
    if (line == 9999)
      g_string_append_printf(s, "cam-%u,rtsp://10.0.%u.%u/s,admin," PASSWORD ",north,0,,N,\n", line,
                             line / 256, line % 256);
    else
      g_string_append_printf(s, "cam-%u,rtsp://10.0.%u.%u/s,admin," PASSWORD ",%u.5,-1,,N,x\n",
                             line, line / 256, line % 256, line % 90);
  }
  result_t r;
  run_len(&r, "big.csv", s->str, s->len);
  g_assert_cmpuint(r.count, ==, 1);
  g_assert_cmpstr(r.problems->str, ==, "big.csv:9999: lat: not a number\n");
  g_assert_cmpuint(r.specs->len, ==, 9999);
  g_assert_cmpuint(line_at(&r, 0), ==, 2);
  g_assert_cmpuint(line_at(&r, 9996), ==, 9998);
  g_assert_cmpuint(line_at(&r, 9997), ==, 10000);
  g_assert_cmpuint(line_at(&r, 9998), ==, 10001);
  g_assert_cmpstr(spec_at(&r, 9998)->name, ==, "cam-10001");
  result_clear(&r);
  g_string_free(s, TRUE);
}

static void
test_problem_limit(void)
{
  GString *s = g_string_new(HEADER);
  for (guint i = 0; i < CW_IMPORT_MAX_PROBLEMS + 5; i++)
    g_string_append_printf(s, "cam-%u,rtsp://cam/s,,,north,0,,,\n", i);
  result_t r;
  run_len(&r, SRC, s->str, s->len);
  g_assert_cmpuint(r.count, ==, CW_IMPORT_MAX_PROBLEMS + 5);
  g_assert_cmpuint(r.specs->len, ==, 0);
  char **lines = g_strsplit(r.problems->str, "\n", -1);
  g_assert_cmpuint(g_strv_length(lines), ==, CW_IMPORT_MAX_PROBLEMS + 2);
  g_assert_cmpstr(lines[0], ==, "cams.csv:2: lat: not a number");
  g_assert_cmpstr(lines[CW_IMPORT_MAX_PROBLEMS - 1], ==, "cams.csv:1001: lat: not a number");
  g_assert_cmpstr(lines[CW_IMPORT_MAX_PROBLEMS], ==, "cams.csv: ... and 5 more problems");
  g_strfreev(lines);
  result_clear(&r);
  g_string_free(s, TRUE);
}

/* ---- the password stays secret ----------------------------------------- */

static void
test_password_never_in_problems(void)
{
  /* Each row has the password in its password column or URL and something
   * wrong; run() asserts the secret is nowhere in the problems. */
  static const char text[] = HEADER
      /* 2: bad lat and direction */
      "cam-1,rtsp://cam1/s,admin," PASSWORD ",north,0,,up,\n"
      /* 3: URL with credentials and the wrong scheme */
      "cam-2,http://admin:" PASSWORD "@cam2/s,admin," PASSWORD ",,,,,\n"
      /* 4: the column and the URL disagree */
      "cam-3,rtsp://admin:other@cam3/s,admin," PASSWORD ",,,,,\n"
      /* 5: a password without a user name */
      "cam-4,rtsp://cam4/s,," PASSWORD ",,,,,\n"
      /* 6: a control character in the password (the field spans line 7) */
      "cam-5,rtsp://cam5/s,admin,\"" PASSWORD "\n"
      "x\",,,,,\n"
      /* 8: too many fields */
      "cam-6,rtsp://cam6/s,admin," PASSWORD ",extra,,,,,\n"
      /* 9: a stray quote inside the password */
      "cam-7,rtsp://cam7/s,admin," PASSWORD "\"x,,,,,\n"
      /* 10: text after a closing quote */
      "cam-8,rtsp://cam8/s,admin,\"" PASSWORD "\"x,,,,,\n"
      /* 11: a good row, 12: the same name again */
      "cam-9,rtsp://cam9/s,admin," PASSWORD ",,,,,\n"
      "CAM-9,rtsp://cam9/s,admin," PASSWORD ",,,,,\n"
      /* 13: a password in the URL and a bad port */
      "cam-10,rtsp://admin:" PASSWORD "@cam10:99999/s,,,,,,,\n"
      /* 14: an unterminated quote opening on the password */
      "cam-11,rtsp://cam11/s,admin,\"" PASSWORD ",,,,,\n";
  static const char *const want[] = {
      "cams.csv:2: lat: not a number",
      "cams.csv:2: direction: must be one of N, NE, E, SE, S, SW, W, NW (the way the traffic in "
      "view travels)",
      "cams.csv:3: url: scheme must be rtsp or rtsps",
      "cams.csv:4: password: differs from the password inside url",
      "cams.csv:5: username: required when a password is given",
      "cams.csv:6: password: contains a control character",
      "cams.csv:8: row: has 10 fields but the header has 9",
      "cams.csv:9: row: quote character inside an unquoted field 4 (quote the whole field and "
      "double the quote)",
      "cams.csv:10: row: unexpected text after closing quote in field 4",
      "cams.csv:12: name: 'CAM-9' is already used on line 11 (names are compared regardless of "
      "case)",
      "cams.csv:13: url: port must be a number from 1 to 65535",
      "cams.csv:14: row: unterminated quoted field (the quote opened on line 14 is never closed)",
      NULL,
  };
  result_t r;
  run(&r, text);
  assert_problems(&r, want);
  g_assert_cmpuint(r.count, ==, G_N_ELEMENTS(want) - 1);
  g_assert_cmpuint(r.specs->len, ==, 1);
  g_assert_cmpuint(line_at(&r, 0), ==, 11);
  result_clear(&r);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/camera_import/good/file", test_good_file);
  g_test_add_func("/camera_import/good/credentials_in_url", test_good_credentials_in_url);
  g_test_add_func("/camera_import/good/bom_and_blank_lines", test_good_bom_and_blank_lines);
  g_test_add_func("/camera_import/good/header_case_and_spaces", test_header_case_and_spaces);
  g_test_add_func("/camera_import/header/missing_column", test_header_missing_column);
  g_test_add_func("/camera_import/header/unknown_column", test_header_unknown_column);
  g_test_add_func("/camera_import/header/duplicate_column", test_header_duplicate_column);
  g_test_add_func("/camera_import/header/empty_file", test_empty_file);
  g_test_add_func("/camera_import/header/header_only", test_header_only);
  g_test_add_func("/camera_import/row/field_count", test_row_field_count);
  g_test_add_func("/camera_import/row/stray_quote", test_row_stray_quote);
  g_test_add_func("/camera_import/row/unterminated_quote", test_row_unterminated_quote);
  g_test_add_func("/camera_import/row/wrong_types", test_row_wrong_types);
  g_test_add_func("/camera_import/row/duplicate_names", test_duplicate_names);
  g_test_add_func("/camera_import/row/many_bad_rows_one_pass", test_many_bad_rows_one_pass);
  g_test_add_func("/camera_import/row/large_file_one_bad_row", test_large_file_one_bad_row);
  g_test_add_func("/camera_import/row/problem_limit", test_problem_limit);
  g_test_add_func("/camera_import/password/never_in_problems", test_password_never_in_problems);
  return g_test_run();
}
