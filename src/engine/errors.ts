/**
 * Node's network and TLS errors in the words of the original (a Go program), so that messages
 * read the same: `dial tcp 127.0.0.1:2376: connect: connection refused`.
 */
export function dialErrorText(hostPort: string, err: unknown): string {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
      return `dial tcp ${hostPort}: connect: connection refused`;
    case 'ECONNRESET':
      return `read tcp ${hostPort}: connection reset by peer`;
    case 'EHOSTUNREACH':
      return `dial tcp ${hostPort}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${hostPort}: connect: network is unreachable`;
    case 'ETIMEDOUT':
    case 'ABORT_ERR':
    case 'TIMEOUT':
      return `dial tcp ${hostPort}: i/o timeout`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `dial tcp: lookup ${hostPort.replace(/:\d+$/, '')}: no such host`;
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `x509: ${e.reason ?? 'certificate is not valid for this host'}`;
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return 'x509: certificate signed by unknown authority';
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return 'x509: certificate has expired or is not yet valid';
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      // The port answers, but not with TLS (a plain-HTTP engine, another service).
      return 'tls: first record does not look like a TLS handshake';
    default:
      // OpenSSL's own text names its source file and ends in a newline: its reason reads better.
      if (code.startsWith('ERR_SSL_') && e.reason) return `remote error: tls: ${e.reason}`;
      if (/alert|handshake|certificate/i.test(e?.message ?? '')) return `remote error: tls: ${e.message}`;
      return e?.message ? `${e.message}` : String(err);
  }
}
