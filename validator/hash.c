/*
 * hash.c — the module's content hash: SHA-256 (OpenSSL libcrypto), the
 * collision-resistant key of the code cache that tenants share.
 */
#include "internal.h"

#include <openssl/evp.h>

int zv_val_sha256(const uint8_t *bytes, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    if (!EVP_Digest(bytes, n, out, &len, EVP_sha256(), NULL) || len != 32)
        return -ENOMEM;
    return 0;
}
