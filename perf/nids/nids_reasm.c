/* nids_reasm: the libnids peer of perf/peers_bench.sh.
 *
 * Reads a classic pcap file offline through libnids (Debian's libnids-dev,
 * 1.26), follows every TCP connection that libnids sees open with a
 * handshake, lets libnids reassemble both directions (in order, with its
 * out-of-order queue) and counts the bytes it delivers, per direction, as
 * a reassembler's consumer would see them. Nothing else: no HTTP, no
 * output files, no hashing. The point is the cost of libnids' reassembly
 * on the same capture Loom reads.
 *
 *   nids_reasm [--streams N] [--checksums] FILE.pcap
 *
 * Settings (chosen to make libnids as cheap as it can be, never to help
 * Loom):
 *   - TCP/IP checksums are not verified (nids_register_chksum_ctl with
 *     NIDS_DONT_CHKSUM for 0.0.0.0/0) unless --checksums is given; Loom
 *     does not verify them in software either.
 *   - port-scan detection is off (scan_num_hosts = 0);
 *   - n_tcp_streams = N (default 65536; libnids follows at most 3/4 of it
 *     at once), so no connection is dropped for want of a slot;
 *   - the consumer takes every delivered byte at once (no nids_discard), so
 *     libnids never keeps delivered data.
 * libnids reports unusual events through nids_params.syslog; they are
 * counted here per type (warnings_*) instead of going to syslogd.
 *
 * Prints "key value" lines on stdout:
 *   packets              pcap records libnids handed over (every record)
 *   connections          connections established (NIDS_JUST_EST)
 *   closed reset timed_out exiting   how they ended (exiting: still open
 *                                    at the end of the file)
 *   stream_bytes_c2s     bytes delivered to the server (client -> server)
 *   stream_bytes_s2c     bytes delivered to the client
 *   data_callbacks       NIDS_DATA callbacks
 *   warnings_ip warnings_tcp warnings_udp warnings_scan
 * Exit status: 0, or 1 when libnids fails to start.
 */
#include <nids.h>
#include <pcap.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t n_packets, n_est, n_close, n_reset, n_timeout, n_exiting;
static uint64_t bytes_c2s, bytes_s2c, n_data;
static uint64_t warn[5];

static void on_tcp(struct tcp_stream *s, void **unused)
{
  (void)unused;
  switch (s->nids_state) {
  case NIDS_JUST_EST:
    n_est++;
    s->client.collect++; /* data the client receives: s2c */
    s->server.collect++; /* data the server receives: c2s */
    return;
  case NIDS_DATA:
    n_data++;
    if (s->server.count_new) bytes_c2s += (uint64_t)s->server.count_new;
    if (s->client.count_new) bytes_s2c += (uint64_t)s->client.count_new;
    return; /* no nids_discard: all new data is consumed */
  case NIDS_CLOSE: n_close++; return;
  case NIDS_RESET: n_reset++; return;
  case NIDS_TIMED_OUT: n_timeout++; return;
  case NIDS_EXITING: n_exiting++; return;
  default: return;
  }
}

/* Counts every IP packet libnids receives (after its own sanity checks
 * it calls the ip_frag listeners for each datagram). */
static void on_ip_frag(struct ip *iph, int len)
{
  (void)iph;
  (void)len;
  n_packets++;
}

static void on_event(int type, int err, struct ip *iph, void *data)
{
  (void)err;
  (void)iph;
  (void)data;
  if (type >= 0 && type < 5) warn[type]++;
}

int main(int argc, char **argv)
{
  int streams = 65536, checksums = 0;
  const char *file = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--streams") && i + 1 < argc)
      streams = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--checksums"))
      checksums = 1;
    else if (argv[i][0] != '-' && !file)
      file = argv[i];
    else {
      fprintf(stderr, "usage: nids_reasm [--streams N] [--checksums] FILE.pcap\n");
      return 2;
    }
  }
  if (!file || streams < 16) {
    fprintf(stderr, "usage: nids_reasm [--streams N] [--checksums] FILE.pcap\n");
    return 2;
  }
  nids_params.filename = (char *)file;
  nids_params.device = NULL;
  nids_params.n_tcp_streams = streams;
  nids_params.scan_num_hosts = 0;
  nids_params.promisc = 0;
  nids_params.syslog = on_event;
  nids_params.pcap_filter = NULL;
  nids_params.multiproc = 0;
  if (!nids_init()) {
    fprintf(stderr, "nids_reasm: nids_init: %s\n", nids_errbuf);
    return 1;
  }
  if (!checksums) {
    static struct nids_chksum_ctl all = {0, 0, NIDS_DONT_CHKSUM, 0};
    nids_register_chksum_ctl(&all, 1);
  }
  nids_register_ip_frag(on_ip_frag);
  nids_register_tcp(on_tcp);
  nids_run(); /* returns at the end of the file */
  nids_exit(); /* NIDS_EXITING for connections still open */
  printf("packets %llu\nconnections %llu\nclosed %llu\nreset %llu\ntimed_out %llu\n"
         "exiting %llu\nstream_bytes_c2s %llu\nstream_bytes_s2c %llu\ndata_callbacks %llu\n"
         "warnings_ip %llu\nwarnings_tcp %llu\nwarnings_udp %llu\nwarnings_scan %llu\n",
         (unsigned long long)n_packets, (unsigned long long)n_est, (unsigned long long)n_close,
         (unsigned long long)n_reset, (unsigned long long)n_timeout,
         (unsigned long long)n_exiting, (unsigned long long)bytes_c2s,
         (unsigned long long)bytes_s2c, (unsigned long long)n_data,
         (unsigned long long)warn[NIDS_WARN_IP], (unsigned long long)warn[NIDS_WARN_TCP],
         (unsigned long long)warn[NIDS_WARN_UDP], (unsigned long long)warn[NIDS_WARN_SCAN]);
  return 0;
}
