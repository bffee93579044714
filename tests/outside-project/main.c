/* Creates a vault in argv[1], adds a testimony, reads it back. Exit 0 on success. */
#include <estelik.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  const char pass[] = "outside project passphrase";
  estelik_error err = ESTELIK_ERROR_INIT;
  estelik_vault* vault = NULL;
  estelik_buffer testimony = {NULL, 0};
  char* id = NULL;
  estelik_status s;
  if (argc != 2) return 2;
  s = estelik_vault_create(argv[1], pass, strlen(pass), ESTELIK_KDF_TEST_ONLY, &vault, &err);
  if (s == ESTELIK_OK) {
    s = estelik_testimony_add_simple(vault, "en", "Hello", "From outside.", &id, &err);
  }
  if (s == ESTELIK_OK) s = estelik_testimony_get(vault, id, &testimony, &err);
  if (s != ESTELIK_OK) {
    fprintf(stderr, "estelik %s: %s\n", estelik_status_name(s), err.message);
    estelik_error_clear(&err);
  } else {
    printf("libestelik %s: testimony %s (%zu bytes)\n", estelik_version(), id, testimony.size);
  }
  estelik_buffer_free(&testimony);
  estelik_string_free(id);
  estelik_vault_close(vault);
  if (s == ESTELIK_OK) s = estelik_vault_wipe(argv[1], NULL);
  return s == ESTELIK_OK ? 0 : 1;
}
