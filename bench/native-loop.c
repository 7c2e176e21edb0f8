/*
 * The per-frame work of one side of a call, in C on one thread, for bench/client-cpu.ts: what a
 * media loop taken out of the JavaScript event loop would cost at least. Every 20 ms (absolute
 * deadlines) a frame of the WAV is Opus-encoded (VoIP, 24 kbit/s, as parley's default) and sent
 * to the peer with a 12-byte RTP header; datagrams from the peer are decoded as they arrive
 * (poll() until the next deadline). No jitter buffer, encryption or playback: a floor, not a
 * client.
 *
 *   native-loop WAV LOCAL_PORT PEER_PORT    (127.0.0.1; prints "ready" once it runs; on SIGTERM,
 *                                           "sent S decoded D" and exits)
 *
 * The WAV is the bench's own: 48 kHz mono 16-bit PCM with a plain 44-byte header.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <opus/opus.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000
#define FRAME 960 /* 20 ms */
#define HEADER 12
#define MAX_PACKET 1500

static int16_t *read_wav(const char *path, size_t *samples) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  if (size <= 44) return fclose(f), NULL;
  fseek(f, 44, SEEK_SET);
  *samples = (size_t)(size - 44) / 2;
  int16_t *pcm = malloc(*samples * 2);
  if (!pcm || fread(pcm, 2, *samples, f) != *samples) return fclose(f), free(pcm), NULL;
  fclose(f);
  return pcm;
}

static volatile sig_atomic_t stop = 0;
static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc != 4) return fprintf(stderr, "usage: native-loop WAV LOCAL_PORT PEER_PORT\n"), 2;
  size_t samples = 0;
  int16_t *pcm = read_wav(argv[1], &samples);
  if (!pcm || samples < FRAME) return fprintf(stderr, "native-loop: cannot read %s\n", argv[1]), 1;

  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3])), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof local) != 0) return perror("native-loop: bind"), 1;
  fcntl(sock, F_SETFL, O_NONBLOCK);

  int err = 0;
  OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
  if (err != OPUS_OK) return fprintf(stderr, "native-loop: encoder: %s\n", opus_strerror(err)), 1;
  opus_encoder_ctl(enc, OPUS_SET_BITRATE(24000));
  OpusDecoder *dec = opus_decoder_create(RATE, 1, &err);
  if (err != OPUS_OK) return fprintf(stderr, "native-loop: decoder: %s\n", opus_strerror(err)), 1;

  signal(SIGTERM, on_term);
  printf("ready\n");
  fflush(stdout);

  unsigned char out[MAX_PACKET], in[MAX_PACKET];
  int16_t decoded[FRAME * 6];
  size_t at = 0;
  uint16_t seq = 0;
  uint32_t ts = 0;
  long sent = 0, decoded_frames = 0;
  int64_t next = now_ns();
  while (!stop) {
    next += 20 * 1000000LL;
    /* Until the deadline: decode whatever arrives. */
    for (;;) {
      int64_t left = next - now_ns();
      if (left <= 0 || stop) break;
      struct pollfd p = {.fd = sock, .events = POLLIN};
      int ready = poll(&p, 1, (int)((left + 999999) / 1000000));
      if (ready <= 0) continue;
      ssize_t n;
      while ((n = recv(sock, in, sizeof in, 0)) > HEADER)
        if (opus_decode(dec, in + HEADER, (opus_int32)(n - HEADER), decoded, FRAME * 6, 0) > 0) decoded_frames++;
    }
    if (at + FRAME > samples) at = 0;
    int len = opus_encode(enc, pcm + at, FRAME, out + HEADER, MAX_PACKET - HEADER);
    at += FRAME;
    if (len < 0) continue;
    out[0] = 0x80, out[1] = 111;
    out[2] = seq >> 8, out[3] = seq & 0xff;
    out[4] = ts >> 24, out[5] = ts >> 16, out[6] = ts >> 8, out[7] = ts;
    memset(out + 8, 0, 4);
    seq++, ts += FRAME;
    if (sendto(sock, out, HEADER + len, 0, (struct sockaddr *)&peer, sizeof peer) > 0) sent++;
  }
  printf("sent %ld decoded %ld\n", sent, decoded_frames);
  return 0;
}
