/*
 * artifact_sign.c — signed artifacts: Ed25519 through OpenSSL's libcrypto,
 * for operators who trust a key rather than file ownership (`zvm keygen`,
 * `zvm sign`, `--trust-key`).
 *
 * A signature is a block after the artifact's end (artifact.c): "ZVMCSIG1",
 * the signer's public key (32 bytes) and the Ed25519 signature (64) of
 * every byte before the block, so signing changes nothing the loader
 * checked before and a signed artifact still runs where no key is set.
 * With a trust key an artifact must carry a signature by that key, which
 * replaces the ownership rule (the file may come from a deploy user or a
 * shared folder): an unsigned artifact, one signed by another key, or a bad
 * signature is refused, each with its own message, before anything is
 * dlopen'ed.
 *
 * Keys are one line of text: "zvm-ed25519-private HEX" (the 32-byte seed,
 * a file only its owner may read) and "zvm-ed25519-public HEX". libcrypto
 * is opened with dlopen on first use, as io/redis_tls.c opens libssl: a
 * run that verifies nothing never maps it.
 */
#include "engine/internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define CRYPTO_SONAME "libcrypto.so." STR(OPENSSL_VERSION_MAJOR)
#define PRIVATE_TAG "zvm-ed25519-private"
#define PUBLIC_TAG "zvm-ed25519-public"

#define CRYPTO_CALLS(X)                                                                            \
    X(EVP_PKEY *, EVP_PKEY_new_raw_private_key,                                                    \
      (int type, ENGINE *e, const unsigned char *key, size_t n))                                   \
    X(EVP_PKEY *, EVP_PKEY_new_raw_public_key,                                                     \
      (int type, ENGINE *e, const unsigned char *key, size_t n))                                   \
    X(int, EVP_PKEY_get_raw_public_key, (const EVP_PKEY *k, unsigned char *pub, size_t *n))        \
    X(void, EVP_PKEY_free, (EVP_PKEY * k))                                                         \
    X(EVP_MD_CTX *, EVP_MD_CTX_new, (void))                                                        \
    X(void, EVP_MD_CTX_free, (EVP_MD_CTX * c))                                                     \
    X(int, EVP_DigestSignInit,                                                                     \
      (EVP_MD_CTX * c, EVP_PKEY_CTX **pc, const EVP_MD *t, ENGINE *e, EVP_PKEY *k))                \
    X(int, EVP_DigestSign,                                                                         \
      (EVP_MD_CTX * c, unsigned char *sig, size_t *n, const unsigned char *m, size_t mn))          \
    X(int, EVP_DigestVerifyInit,                                                                   \
      (EVP_MD_CTX * c, EVP_PKEY_CTX **pc, const EVP_MD *t, ENGINE *e, EVP_PKEY *k))                \
    X(int, EVP_DigestVerify,                                                                       \
      (EVP_MD_CTX * c, const unsigned char *sig, size_t n, const unsigned char *m, size_t mn))

static struct {
#define FIELD(ret, name, params) ret(*name) params;
    CRYPTO_CALLS(FIELD)
#undef FIELD
} ossl;
static pthread_once_t ossl_once = PTHREAD_ONCE_INIT;
static char ossl_error[256]; /* why it did not load; "" once loaded (written once, under ossl_once) */

static void ossl_load(void)
{
    void *lib = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(ossl_error, sizeof ossl_error, "signatures need OpenSSL's %s (Debian: libssl3): "
                 "%s", CRYPTO_SONAME, dlerror());
        return;
    }
#define RESOLVE(ret, name, params)                                                                 \
    if (!(*(void **)&ossl.name = dlsym(lib, #name))) {                                             \
        snprintf(ossl_error, sizeof ossl_error, "%s has no %s", CRYPTO_SONAME, #name);             \
        return;                                                                                    \
    }
    CRYPTO_CALLS(RESOLVE)
#undef RESOLVE
}

static int crypto(zv_eng_err *err)
{
    pthread_once(&ossl_once, ossl_load);
    if (ossl_error[0]) {
        snprintf(err->msg, sizeof err->msg, "%s", ossl_error);
        return -ENOSYS;
    }
    return 0;
}

/* Ed25519 of msg under the seed: 0, or -EIO. */
static int sign(const uint8_t seed[32], const uint8_t *msg, size_t n, uint8_t sig[64])
{
    EVP_PKEY *k = ossl.EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    EVP_MD_CTX *c = ossl.EVP_MD_CTX_new();
    size_t len = 64;
    int ok = k && c && ossl.EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             ossl.EVP_DigestSign(c, sig, &len, msg, n) == 1 && len == 64;
    ossl.EVP_MD_CTX_free(c);
    ossl.EVP_PKEY_free(k);
    return ok ? 0 : -EIO;
}

static int verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64])
{
    EVP_PKEY *k = ossl.EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *c = ossl.EVP_MD_CTX_new();
    int ok = k && c && ossl.EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             ossl.EVP_DigestVerify(c, sig, 64, msg, n) == 1;
    ossl.EVP_MD_CTX_free(c);
    ossl.EVP_PKEY_free(k);
    return ok ? 0 : -EBADMSG;
}

/* ---- key files ---------------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* "TAG HEX\n" of 32 bytes from path: 0, or -errno with err. */
static int key_read(const char *path, const char *tag, uint8_t key[32], zv_eng_err *err)
{
    char line[200], want[64];
    FILE *f = fopen(path, "re");
    int ok = 0;
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path, strerror(errno));
        return -errno;
    }
    snprintf(want, sizeof want, "%s ", tag);
    if (fgets(line, sizeof line, f) && !strncmp(line, want, strlen(want))) {
        const char *h = line + strlen(want);
        ok = strspn(h, "0123456789abcdef") == 64 && (h[64] == '\n' || h[64] == 0);
        for (int i = 0; ok && i < 32; i++)
            ok = sscanf(h + 2 * i, "%2hhx", &key[i]) == 1;
    }
    fclose(f);
    if (!ok) {
        snprintf(err->msg, sizeof err->msg, "%s: not a key file: one line \"%s\" and 64 hex "
                 "digits (zvm keygen writes them)", path, tag);
        return -EINVAL;
    }
    return 0;
}

int zv_eng_trust_key_read(const char *path, uint8_t key[32], zv_eng_err *err)
{
    return key_read(path, PUBLIC_TAG, key, err);
}

/* Write "TAG HEX\n" to path, new (O_EXCL) with mode. */
static int key_write(const char *path, const char *tag, const uint8_t key[32], mode_t mode,
                     zv_eng_err *err)
{
    char line[200], h[65];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode), n, rc = 0;
    if (fd < 0) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot create: %s", path, strerror(errno));
        return -errno;
    }
    hex(key, 32, h);
    n = snprintf(line, sizeof line, "%s %s\n", tag, h);
    if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
        rc = -EIO;
    if (close(fd) < 0 || rc) {
        snprintf(err->msg, sizeof err->msg, "%s: cannot write", path);
        unlink(path);
        return -EIO;
    }
    return 0;
}

int zv_eng_keygen(const char *private_path, const char *public_path, zv_eng_err *err)
{
    uint8_t seed[32], pub[32];
    size_t n = 32;
    EVP_PKEY *k;
    int rc;
    if ((rc = crypto(err)))
        return rc;
    if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
        snprintf(err->msg, sizeof err->msg, "getrandom: %s", strerror(errno));
        return -EIO;
    }
    k = ossl.EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
    if (!k || ossl.EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != 32) {
        ossl.EVP_PKEY_free(k);
        snprintf(err->msg, sizeof err->msg, "OpenSSL made no Ed25519 key");
        return -EIO;
    }
    ossl.EVP_PKEY_free(k);
    if ((rc = key_write(private_path, PRIVATE_TAG, seed, 0600, err)))
        return rc;
    if ((rc = key_write(public_path, PUBLIC_TAG, pub, 0644, err)))
        unlink(private_path);
    memset(seed, 0, sizeof seed);
    return rc;
}

/* ---- signing and checking -------------------------------------------------------------- */

int zv_eng_artifact_sign(const char *path, const char *key_path, zv_eng_err *err)
{
    uint8_t seed[32], block[ZV_ENG_SIG_BYTES];
    size_t pub_n = 32;
    zv_eng_code code;
    EVP_PKEY *k;
    struct stat st;
    int fd, rc;
    if ((rc = crypto(err)) || (rc = key_read(key_path, PRIVATE_TAG, seed, err)))
        return rc;
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
        snprintf(err->msg, sizeof err->msg, "cannot open: %s", strerror(errno));
        rc = -errno;
        goto out;
    }
    {
        uint8_t *b = malloc(st.st_size ? (size_t)st.st_size : 1);
        rc = !b ? -ENOMEM : pread(fd, b, (size_t)st.st_size, 0) != st.st_size ? -EIO : 0;
        if (rc == 0)
            rc = zv_eng_artifact_check(b, (size_t)st.st_size, &code, err);
        memcpy(block, ZV_ENG_SIG_MAGIC, 8);
        k = rc ? NULL : ossl.EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
        if (rc == 0 && (!k || ossl.EVP_PKEY_get_raw_public_key(k, block + 8, &pub_n) != 1 ||
                        sign(seed, b, code.signed_bytes, block + 40))) {
            snprintf(err->msg, sizeof err->msg, "OpenSSL could not sign");
            rc = -EIO;
        }
        ossl.EVP_PKEY_free(k);
        free(b);
    }
    /* the block after the signed bytes (a signature already there is replaced) */
    if (rc == 0 && (pwrite(fd, block, sizeof block, (off_t)code.signed_bytes) != (ssize_t)sizeof block ||
                    ftruncate(fd, (off_t)(code.signed_bytes + sizeof block)) < 0 || fsync(fd) < 0)) {
        snprintf(err->msg, sizeof err->msg, "cannot write the signature: %s", strerror(errno));
        rc = -EIO;
    }
out:
    memset(seed, 0, sizeof seed);
    if (fd >= 0)
        close(fd);
    return rc;
}

int zv_eng_artifact_signed_by(const uint8_t *b, const zv_eng_code *code, const uint8_t key[32],
                              zv_eng_err *err)
{
    char want[65], got[65];
    int rc;
    if (!code->sig) {
        snprintf(err->msg, sizeof err->msg, "unsigned artifact: a trust key is set, so it must be "
                 "signed by that key (zvm sign)");
        return -EPERM;
    }
    if (memcmp(code->sig + 8, key, 32)) {
        hex(key, 8, want);
        hex(code->sig + 8, 8, got);
        snprintf(err->msg, sizeof err->msg, "artifact signed by another key (%s...), not the "
                 "trusted one (%s...)", got, want);
        return -EPERM;
    }
    if ((rc = crypto(err)))
        return rc;
    if (verify(key, b, code->signed_bytes, code->sig + 40)) {
        snprintf(err->msg, sizeof err->msg, "bad signature: the artifact is not what the trusted "
                 "key signed");
        return -EPERM;
    }
    return 0;
}
