// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The message trace (trace.h). It reads what it prints from the messages
 * themselves, so a trace shows what crossed, not what the runtime meant.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "observe.h"
#include "trace.h"

static FILE *trace_file;
static uint64_t trace_start_ns;

static uint64_t trace_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint32_t trace_le32(const struct dusk_msg *m, size_t off)
{
	uint32_t v = 0;

	if (off + sizeof(v) <= m->len)
		memcpy(&v, m->payload + off, sizeof(v));
	return le32toh(v);
}

static uint64_t trace_le64(const struct dusk_msg *m, size_t off)
{
	uint64_t v = 0;

	if (off + sizeof(v) <= m->len)
		memcpy(&v, m->payload + off, sizeof(v));
	return le64toh(v);
}

#define F32(type, field)	trace_le32(m, offsetof(type, field))
#define F64(type, field)	trace_le64(m, offsetof(type, field))

/* A HOOK's or VERDICT's records, one bracket each. */
static void trace_batch(FILE *f, const struct dusk_msg *m)
{
	struct dusk_batch_iter it;
	struct dusk_hook_msg hm;
	struct dusk_verdict v;
	const uint8_t *rec;
	uint32_t len;

	if (dusk_batch_iter_init(&it, m))
		return;
	if (m->type == DUSK_MSG_HOOK)
		fprintf(f, " held_from %" PRIu64,
			F64(struct dusk_hook_batch, held_from));
	fprintf(f, " nr %u", it.left);
	while (dusk_batch_next(&it, &rec, &len) > 0) {
		if (m->type == DUSK_MSG_HOOK) {
			memcpy(&hm, rec, sizeof(hm));
			fprintf(f, " [packet %" PRIu64 " handle %u skb 0x%" PRIx64
				" cpu %u segs %u]", le64toh(hm.packet),
				le32toh(hm.handle), le64toh(hm.skb),
				le32toh(hm.cpu), le32toh(hm.nr_segs));
		} else {
			memcpy(&v, rec, sizeof(v));
			fprintf(f, " [packet %" PRIu64 " verdict %u segs %u]",
				le64toh(v.packet), le32toh(v.verdict),
				le32toh(v.nr_segs));
		}
	}
}

/* What a request carries, in a few words. */
static void trace_request(FILE *f, const struct dusk_msg *m)
{
	unsigned int i, n;

	switch (m->type) {
	case DUSK_MSG_HELLO:
		fprintf(f, " max_dgram %u hold_ms %u policy %u",
			F32(struct dusk_hello, max_dgram),
			F32(struct dusk_hello, hold_ms),
			F32(struct dusk_hello, policy));
		break;
	case DUSK_MSG_READ:
		fprintf(f, " addr 0x%" PRIx64 " len %u",
			F64(struct dusk_read, addr), F32(struct dusk_read, len));
		break;
	case DUSK_MSG_WRITE:
		fprintf(f, " segs %u bytes %u", F32(struct dusk_write, nr_segs),
			m->len);
		break;
	case DUSK_MSG_CALL:
		n = F32(struct dusk_call, nargs);
		fprintf(f, " fn 0x%" PRIx64 " (", F64(struct dusk_call, fn));
		for (i = 0; i < n && i < DUSK_MAX_CALL_ARGS; i++)
			fprintf(f, "%s0x%" PRIx64, i ? ", " : "",
				trace_le64(m, offsetof(struct dusk_call, args) +
					      i * sizeof(__le64)));
		fprintf(f, ") segs %u", F32(struct dusk_call, nr_segs));
		break;
	case DUSK_MSG_SYM:
		fprintf(f, " %.*s", (int)m->len, (const char *)m->payload);
		break;
	case DUSK_MSG_ALLOC:
		fprintf(f, " size %" PRIu64, F64(struct dusk_alloc, size));
		break;
	case DUSK_MSG_FREE:
		fprintf(f, " addr 0x%" PRIx64, F64(struct dusk_free, addr));
		break;
	case DUSK_MSG_HOOK_REGISTER:
		fprintf(f, " pf %u hooknum %u priority %d",
			F32(struct dusk_hook_register, pf),
			F32(struct dusk_hook_register, hooknum),
			(int32_t)F32(struct dusk_hook_register, priority));
		break;
	case DUSK_MSG_HOOK_UNREGISTER:
		fprintf(f, " handle %u", F32(struct dusk_hook_handle, handle));
		break;
	case DUSK_MSG_HOOK:
	case DUSK_MSG_VERDICT:
		trace_batch(f, m);
		break;
	case DUSK_MSG_INVOKE:
		fprintf(f, " cookie %" PRIu64 " pid %u comm %.16s cpu %u segs %u",
			F64(struct dusk_invoke, cookie),
			F32(struct dusk_invoke, pid),
			m->len >= sizeof(struct dusk_invoke) ?
			(const char *)m->payload +
			offsetof(struct dusk_invoke, comm) : "",
			F32(struct dusk_invoke, cpu),
			F32(struct dusk_invoke, nr_segs));
		break;
	case DUSK_MSG_RETURN:
		fprintf(f, " ret %" PRId64 " segs %u",
			(int64_t)F64(struct dusk_return, ret),
			F32(struct dusk_return, nr_segs));
		break;
	case DUSK_MSG_UACCESS:
		fprintf(f, " op %u uaddr 0x%" PRIx64 " len %" PRIu64,
			F32(struct dusk_uaccess, op),
			F64(struct dusk_uaccess, uaddr),
			F64(struct dusk_uaccess, len));
		break;
	case DUSK_MSG_PROXY_REGISTER:
		fprintf(f, " kind %u slots %u",
			F32(struct dusk_proxy_register, kind),
			F32(struct dusk_proxy_register, nr));
		break;
	case DUSK_MSG_PROXY_UNREGISTER:
		fprintf(f, " handle %u", F32(struct dusk_proxy_handle, handle));
		break;
	case DUSK_MSG_SIGNAL:
		fprintf(f, " signo %u%s", F32(struct dusk_signal, signo),
			F32(struct dusk_signal, fatal) ? " fatal" : "");
		break;
	case DUSK_MSG_KTHREAD_CREATE:
		fprintf(f, " node %d name %.*s",
			(int32_t)F32(struct dusk_kthread_create, node),
			DUSK_KTHREAD_NAME_LEN,
			m->len >= sizeof(struct dusk_kthread_create) ?
			(const char *)m->payload +
			offsetof(struct dusk_kthread_create, name) : "");
		break;
	case DUSK_MSG_KTHREAD_STOP:
		fprintf(f, " handle %" PRIu64,
			F64(struct dusk_kthread_handle, handle));
		break;
	default:
		break;
	}
}

/* What a successful reply carries. */
static void trace_reply(FILE *f, const struct dusk_msg *m)
{
	switch (m->type) {
	case DUSK_MSG_HELLO:
		fprintf(f, " session %08x release %.*s",
			F32(struct dusk_hello_reply, session), DUSK_RELEASE_LEN,
			m->len >= sizeof(struct dusk_hello_reply) ?
			(const char *)m->payload +
			offsetof(struct dusk_hello_reply, release) : "");
		break;
	case DUSK_MSG_PING:
		fprintf(f, " queued %" PRIu64 " verdicts %" PRIu64
			" released %" PRIu64 " open_files %" PRIu64,
			F64(struct dusk_stats, queued),
			F64(struct dusk_stats, verdicts),
			F64(struct dusk_stats, released),
			F64(struct dusk_stats, open_files));
		break;
	case DUSK_MSG_READ:
		fprintf(f, " bytes %u", m->len);
		break;
	case DUSK_MSG_CALL:
		if (F32(struct dusk_call_reply, refused_arg))
			fprintf(f, " refused: argument %u unreadable at +%u",
				F32(struct dusk_call_reply, refused_arg),
				F32(struct dusk_call_reply, fault_off));
		else
			fprintf(f, " ret 0x%" PRIx64,
				F64(struct dusk_call_reply, ret));
		break;
	case DUSK_MSG_SYM:
		fprintf(f, " addr 0x%" PRIx64, F64(struct dusk_sym_reply, addr));
		break;
	case DUSK_MSG_ALLOC:
		fprintf(f, " addr 0x%" PRIx64, F64(struct dusk_alloc_reply, addr));
		break;
	case DUSK_MSG_HOOK_REGISTER:
		fprintf(f, " handle %u", F32(struct dusk_hook_handle, handle));
		break;
	case DUSK_MSG_UACCESS:
		fprintf(f, " ret %" PRId64 " val 0x%" PRIx64,
			(int64_t)F64(struct dusk_uaccess_reply, ret),
			F64(struct dusk_uaccess_reply, val));
		break;
	case DUSK_MSG_PROXY_REGISTER:
		fprintf(f, " table 0x%" PRIx64 " handle %u",
			F64(struct dusk_proxy_reply, table),
			F32(struct dusk_proxy_reply, handle));
		break;
	case DUSK_MSG_KTHREAD_CREATE:
		fprintf(f, " task 0x%" PRIx64 " handle %" PRIu64,
			F64(struct dusk_kthread_reply, task),
			F64(struct dusk_kthread_reply, handle));
		break;
	case DUSK_MSG_KTHREAD_STOP:
		fprintf(f, " ret %" PRId64,
			(int64_t)F64(struct dusk_kthread_stop_reply, ret));
		break;
	default:
		break;
	}
}

static void trace_msg(void *ctx, struct dusk_session *s, enum dusk_dir dir,
		      const struct dusk_msg *m)
{
	uint64_t t = trace_now_ns() - trace_start_ns;
	int reply = !!(m->flags & DUSK_F_REPLY);
	FILE *f = trace_file;

	(void)ctx;
	(void)s;
	if (!f)
		return;
	flockfile(f);
	fprintf(f, "%" PRIu64 ".%06" PRIu64 " %s %s%s ch %s id %" PRIu64,
		t / 1000000000U, t / 1000U % 1000000U,
		dir == DUSK_DIR_TX ? ">" : "<", dusk_msg_type_name(m->type),
		reply ? "/reply" : "",
		m->channel == DUSK_CHAN_MAIN ? "main" :
		m->channel == DUSK_CHAN_INV ? "inv" : "watchdog", m->id);
	if (m->invocation)
		fprintf(f, " inv %" PRIu64, m->invocation);
	if (reply && m->status)
		fprintf(f, " status %d (%s)", m->status, strerror(-m->status));
	else if (reply)
		trace_reply(f, m);
	else
		trace_request(f, m);
	fputc('\n', f);
	funlockfile(f);
}

static const struct dusk_observer trace_observer = {
	.msg = trace_msg,
};

int dusk_trace_open(const char *path)
{
	FILE *f;
	int err;

	if (trace_file)
		return -EBUSY;
	f = strcmp(path, "-") ? fopen(path, "we") : stderr;
	if (!f)
		return -errno;
	setvbuf(f, NULL, _IOLBF, 0);
	trace_start_ns = trace_now_ns();
	trace_file = f;
	err = dusk_observer_attach(&trace_observer);
	if (err) {
		dusk_trace_close();
		return err;
	}
	return 0;
}

void dusk_trace_close(void)
{
	dusk_observer_detach(&trace_observer);
	if (trace_file && trace_file != stderr)
		fclose(trace_file);
	trace_file = NULL;
}
