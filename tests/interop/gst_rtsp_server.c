/* A small RTSP server built on GStreamer's gst-rtsp-server library, for the
 * interop tests: live test pictures in H.264 and H.265, open mounts and
 * mounts behind authentication.
 *
 *   gst_rtsp_server PORT none|basic|digest [USER PASSWORD]
 *
 * Mounts /h264 and /h265; with basic or digest every request needs
 * USER:PASSWORD by that method (a server with a default token would answer
 * 404, not 401, to a client without credentials). Prints "ready" once
 * listening on 127.0.0.1:PORT. */
#include <stdio.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

static void
add_mount(GstRTSPMountPoints *mounts, const char *path, const char *chain, gboolean auth)
{
  GstRTSPMediaFactory *f = gst_rtsp_media_factory_new();
  char *launch = g_strdup_printf("( videotestsrc is-live=true pattern=ball ! "
                                 "video/x-raw,width=640,height=360,framerate=25/1 ! %s "
                                 "name=pay0 pt=96 config-interval=1 )",
                                 chain);
  gst_rtsp_media_factory_set_launch(f, launch);
  gst_rtsp_media_factory_set_shared(f, TRUE);
  if (auth)
    gst_rtsp_media_factory_add_role(f, "viewer", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                    G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                    G_TYPE_BOOLEAN, TRUE, NULL);
  gst_rtsp_mount_points_add_factory(mounts, path, f);
  g_free(launch);
}

int
main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  const char *method = argc >= 3 ? argv[2] : "";
  gboolean auth_on = strcmp(method, "basic") == 0 || strcmp(method, "digest") == 0;
  if ((strcmp(method, "none") != 0 && !auth_on) || argc != (auth_on ? 5 : 3)) {
    fprintf(stderr, "usage: gst_rtsp_server PORT none|basic|digest [USER PASSWORD]\n");
    return 2;
  }
  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, argv[1]);

  if (auth_on) {
    GstRTSPAuth *auth = gst_rtsp_auth_new();
    GstRTSPToken *viewer =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "viewer", NULL);
    if (strcmp(method, "basic") == 0) {
      char *basic = gst_rtsp_auth_make_basic(argv[3], argv[4]);
      gst_rtsp_auth_add_basic(auth, basic, viewer);
      gst_rtsp_auth_set_supported_methods(auth, GST_RTSP_AUTH_BASIC);
      g_free(basic);
    } else {
      gst_rtsp_auth_add_digest(auth, argv[3], argv[4], viewer);
      gst_rtsp_auth_set_supported_methods(auth, GST_RTSP_AUTH_DIGEST);
    }
    gst_rtsp_token_unref(viewer);
    gst_rtsp_server_set_auth(server, auth);
    g_object_unref(auth);
  }

  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  const char *h264 = "x264enc tune=zerolatency key-int-max=25 bitrate=1000 ! rtph264pay";
  const char *h265 = "x265enc tune=zerolatency key-int-max=25 bitrate=1000 ! rtph265pay";
  add_mount(mounts, "/h264", h264, auth_on);
  add_mount(mounts, "/h265", h265, auth_on);
  g_object_unref(mounts);

  if (gst_rtsp_server_attach(server, NULL) == 0) {
    fprintf(stderr, "gst_rtsp_server: cannot listen on 127.0.0.1:%s\n", argv[1]);
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  g_main_loop_run(g_main_loop_new(NULL, FALSE));
  return 0;
}
