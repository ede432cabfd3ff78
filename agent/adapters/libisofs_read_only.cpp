// Linked into cloudtwin-agent only (not the library: tests keep the real libraries).
//
// The agent reads ISO images with the static libisofs, which also references libacl (ACLs
// of local files copied into an image it writes, or restored from one onto disk) and
// libjte (jigdo files of an image it writes). The agent does neither, yet the two shared
// libraries and theirs (libbz2, libpthread) were loaded into every stage: ~29 page faults
// and 5 more objects to map and relocate per stage, 0.5-1 ms each on a virtualised guest
// (bench/agent_bench.sh). These definitions stand in for them:
// - ACLs of local files are "not supported" (what libacl says on a filesystem without
//   ACLs); ACLs stored in an image are decoded by libisofs itself, unaffected;
// - libjte is only used once iso_write_opts_attach_jte() attached a jigdo context, which
//   the agent never calls; iso_init() checks its version, so that check passes and every
//   other entry fails.
#include <sys/types.h>

#include <cerrno>

extern "C" {

using cloudtwin_acl_t = void*;

cloudtwin_acl_t acl_get_file(const char* path, unsigned int type);
cloudtwin_acl_t acl_from_text(const char* text);
int acl_set_file(const char* path, unsigned int type, cloudtwin_acl_t acl);
char* acl_to_text(cloudtwin_acl_t acl, ssize_t* length);
int acl_free(void* object);
int libjte__is_compatible(int major, int minor, int micro, int flag);
int libjte_begin_data_file(void* jte, char* filename, int sector_size, off_t size);
int libjte_end_data_file(void* jte);
char* libjte_get_next_message(void* jte);
int libjte_show_data_chunk(void* jte, void* buffer, int size, int count);
int libjte_write_header(void* jte);
int libjte_write_footer(void* jte);

cloudtwin_acl_t acl_get_file(const char*, unsigned int) {
  errno = ENOTSUP;
  return nullptr;
}
cloudtwin_acl_t acl_from_text(const char*) {
  errno = ENOTSUP;
  return nullptr;
}
int acl_set_file(const char*, unsigned int, cloudtwin_acl_t) {
  errno = ENOTSUP;
  return -1;
}
char* acl_to_text(cloudtwin_acl_t, ssize_t*) {
  errno = ENOTSUP;
  return nullptr;
}
int acl_free(void*) { return 0; }  // only ever given what the functions above returned

int libjte__is_compatible(int, int, int, int) { return 1; }
int libjte_begin_data_file(void*, char*, int, off_t) { return 0; }
int libjte_end_data_file(void*) { return 0; }
char* libjte_get_next_message(void*) { return nullptr; }
int libjte_show_data_chunk(void*, void*, int, int) { return 0; }
int libjte_write_header(void*) { return 0; }
int libjte_write_footer(void*) { return 0; }

}  // extern "C"
