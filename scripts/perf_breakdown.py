#!/usr/bin/env python3
"""Where rsp-smdp's CPU goes: reads `perf script` output (call graphs of the server process, as
recorded by scripts/bench.sh) on stdin and prints Markdown table rows, one per component, with
its share of the samples and that share of the measured CPU time per download.

Usage: perf script -i perf.data | scripts/perf_breakdown.py CPU_US_PER_DOWNLOAD

Each sample is put in the first component (in the order below) that one of its frames names, so
the shares add up to 100 %. OpenSSL's libcrypto has no symbols on Debian: only its exported
functions name a frame, which is enough to tell the elliptic-curve arithmetic from parsing."""
import sys

# (component, frame-name prefixes); the first match wins
COMPONENTS = [
    ("ECDSA signatures and verifications, ECDH, key generation (the floor's operations)",
     ("EC_POINT_mul", "EVP_DigestSignFinal", "EVP_DigestVerifyFinal", "EVP_DigestSign",
      "EVP_DigestVerify", "EVP_PKEY_derive", "EVP_PKEY_keygen", "EVP_PKEY_generate",
      "EVP_PKEY_Q_keygen", "EVP_PKEY_sign", "EVP_PKEY_verify", "ECDSA_", "ECDH_",
      "rsp_soft_sign_hash", "rsp_ecdsa_sign", "rsp_ecdsa_verify", "rsp_soft_ecdh",
      "rsp_key_generate")),
    ("store: commit (WAL frames, checkpoints)",
     ("sqlite3VdbeHalt", "sqlite3WalFrames", "sqlite3WalCheckpoint", "sqlite3PagerCommit")),
    ("store: statements (SQLite)", ("sqlite3",)),
    ("X.509 certificate parsing (d2i_X509: OpenSSL 3.0 key decoders)",
     ("rsp_cert_parse", "d2i_X509", "ASN1_item_d2i")),
    ("public keys from points (EVP_PKEY)", ("rsp_key_from_point",)),
    ("other X.509 path validation", ("X509_verify_cert", "rsp_cert_verify")),
    ("BPP building besides the floor (segments, AES, CMAC, DER)", ("rsp_smdp_bpp_build",)),
    ("JSON, base64 (ES9+ messages)",
     ("rsp_es9_decode_request", "rsp_es9_encode_response", "rsp_es_encode_failure", "json_",
      "rsp_base64")),
    ("HTTP and TLS (libmicrohttpd, GnuTLS)", ("MHD_", "gnutls", "_gnutls", "nettle", "_nettle")),
    ("ES9+ handlers, other", ("rsp_es9p_", "handle_json", "rsp_", "tele_", "audit_")),
]
OTHER = "kernel and libraries outside a request (sockets, scheduling, allocator)"


def stacks(lines):
    cur = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if cur:
                yield cur
            cur = []
            continue
        if line[0] in " \t":
            parts = line.split()
            if len(parts) >= 2:
                cur.append(parts[1].split("+")[0])
    if cur:
        yield cur


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    per_dl = float(sys.argv[1])
    counts = {name: 0 for name, _ in COMPONENTS}
    counts[OTHER] = 0
    total = 0
    for frames in stacks(sys.stdin):
        total += 1
        for name, prefixes in COMPONENTS:
            if any(f.startswith(prefixes) for f in frames):
                counts[name] += 1
                break
        else:
            counts[OTHER] += 1
    if total == 0:
        sys.exit("perf_breakdown: no samples")
    for name, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        share = n / total
        print(f"| {name} | {share * 100:.1f} % | {share * per_dl:.0f} |")
    print(f"| (samples) | {total} | |")


if __name__ == "__main__":
    main()
