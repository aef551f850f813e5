/* luadir: find the Lua files relative to the running executable, so that an installed prefix
 * works wherever it is moved, and so that an installed program never reads a checkout's
 * lua/ by accident. Only a binary running from the build directory it was built in uses the
 * source tree (both paths are compiled in, see CMakeLists.txt). Linux: the executable's path
 * comes from /proc/self/exe, which, unlike argv[0], is right however the program was
 * started (PATH search, relative path, symlink). */
#include "luadir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory holding the running executable, symlinks resolved; -1 if unknown. */
static int exe_dir(char *out, size_t len)
{
  ssize_t n = readlink("/proc/self/exe", out, len - 1);
  if (n <= 0 || (size_t)n >= len - 1) return -1;
  out[n] = '\0';
  char *slash = strrchr(out, '/');
  if (!slash) return -1;
  slash[slash == out] = '\0'; /* keep "/" for a binary in the root directory */
  return 0;
}

static int copy(char *out, size_t len, const char *s)
{
  if (strlen(s) >= len) {
    if (len) out[0] = '\0';
    return -1;
  }
  strcpy(out, s);
  return 0;
}

int tt_luadir_find(int use_env, char *out, size_t len, const char **origin)
{
  const char *how;
  int rc;
  const char *env = use_env ? getenv("TT_LUA_DIR") : NULL;
  char dir[PATH_MAX], build[PATH_MAX];
  if (env && *env) {
    how = "TT_LUA_DIR";
    rc = copy(out, len, env);
  } else if (exe_dir(dir, sizeof dir) != 0) {
    how = "configured";
    rc = copy(out, len, TT_LUA_INSTALL_DIR);
  } else if (realpath(TT_BUILD_DIR, build) && strcmp(build, dir) == 0) {
    how = "build tree";
    rc = copy(out, len, TT_LUA_SRC_DIR);
  } else {
    how = "installed";
    char joined[PATH_MAX + sizeof TT_LUA_REL_DIR + 1];
    snprintf(joined, sizeof joined, "%s/%s", dir, TT_LUA_REL_DIR);
    /* "<prefix>/share/lua/5.4" reads better in messages than "<prefix>/bin/../share/..." */
    char *canon = realpath(joined, NULL);
    rc = copy(out, len, canon ? canon : joined);
    free(canon);
  }
  if (origin) *origin = how;
  return rc;
}
