/* nfs_overwrite: writes stdin into an existing file over NFSv3 with libnfs (an independent
 * client), at offset 0 and FILE_SYNC, without creating or truncating it. The tests use it where
 * nfs-cp (which only creates new files) cannot: overwriting a file another protocol has open.
 *
 * Usage: nfs_overwrite 'nfs://127.0.0.1/export/path?nfsport=N&mountport=M&version=3&uid=U&gid=G'
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* libnfs.h uses struct timeval without including <sys/time.h>. */
#include <nfsc/libnfs.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s NFS_URL < data\n", argv[0]);
    return 2;
  }
  static char data[1 << 20];
  size_t length = fread(data, 1, sizeof(data), stdin);
  struct nfs_context* nfs = nfs_init_context();
  if (nfs == NULL) return 1;
  struct nfs_url* url = nfs_parse_url_full(nfs, argv[1]);
  if (url == NULL) {
    fprintf(stderr, "bad url: %s\n", nfs_get_error(nfs));
    return 1;
  }
  if (nfs_mount(nfs, url->server, url->path) != 0) {
    fprintf(stderr, "mount: %s\n", nfs_get_error(nfs));
    return 1;
  }
  char path[4096];
  snprintf(path, sizeof(path), "%s%s", url->file[0] == '/' ? "" : "/", url->file);
  struct nfsfh* fh = NULL;
  if (nfs_open(nfs, path, O_WRONLY | O_SYNC, &fh) != 0) {
    fprintf(stderr, "open %s: %s\n", path, nfs_get_error(nfs));
    return 1;
  }
  if (nfs_pwrite(nfs, fh, 0, length, data) != (int)length) {
    fprintf(stderr, "write: %s\n", nfs_get_error(nfs));
    return 1;
  }
  nfs_close(nfs, fh);
  nfs_destroy_url(url);
  nfs_destroy_context(nfs);
  return 0;
}
