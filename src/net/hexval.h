/* hexval.h - the value of a hexadecimal digit, for the escapes of the RESP
 * inline parser ("\x41") and the percent-decoding of HTTP paths ("%2F"):
 * one definition (hexval.c) for both. */
#ifndef RSM_NET_HEXVAL_H
#define RSM_NET_HEXVAL_H

/* 0..15 for [0-9a-fA-F], else -1. */
int net__hexval(char c);

#endif /* RSM_NET_HEXVAL_H */
