// Certificate files read as gRPC's file-watcher certificate provider reads them (gRFC A29, A65): the CA, the
// identity certificate chain and its private key, read again once the refresh interval has passed. Reading is lazy:
// `current()` re-reads when it is asked after the interval, so an idle provider holds no timer and no watcher; it is
// asked when a connection opens, which is when new files must take effect (connections already open keep theirs).
//
// A read that fails, or that finds a certificate and key that do not belong together (a rotation caught half
// written), keeps the last good files; with none yet, `current()` throws an XdsError naming the file and the cause.

import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import { DEFAULT_REFRESH_INTERVAL_MS, type CertificateFilesConfig } from "../bootstrap/credentials-config.js";
import { XdsError } from "../xds-error.js";

/** The contents of the files at one moment; `version` grows each time they change. */
export interface CertificateMaterial {
  /** Counts changes of the contents, from 1. */
  readonly version: number;
  /** The CA certificates (PEM), when a CA file is configured. */
  readonly ca?: Buffer;
  /** The identity certificate chain (PEM), when configured. */
  readonly certificate?: Buffer;
  /** The identity's private key (PEM), with `certificate`. */
  readonly privateKey?: Buffer;
}

/** One set of certificate files (a certificate provider instance, or an xDS server's tls credentials), read lazily. */
export class CertificateFiles {
  private material: CertificateMaterial | undefined;
  private readAt = -Infinity;
  private lastError: XdsError | undefined;

  constructor(
    private readonly config: CertificateFilesConfig,
    /** What the files are, for messages: `certificate provider "default"`, `the tls credentials of xDS server …`. */
    readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long the files are kept before they are read again, in ms. */
  get refreshIntervalMs(): number {
    return this.config.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  }

  /** The latest good contents, re-read once the refresh interval has passed; throws an XdsError (INVALID_CONFIG) when none could be read yet. */
  current(): CertificateMaterial {
    const now = this.now();
    if (now - this.readAt >= this.refreshIntervalMs) {
      this.readAt = now;
      this.read();
    }
    if (this.material === undefined) throw this.lastError!;
    return this.material;
  }

  private read(): void {
    const { caCertificateFile, certificateFile, privateKeyFile } = this.config;
    let ca: Buffer | undefined;
    let certificate: Buffer | undefined;
    let privateKey: Buffer | undefined;
    try {
      ca = this.file(caCertificateFile, "CA certificate");
      certificate = this.file(certificateFile, "certificate");
      privateKey = this.file(privateKeyFile, "private key");
      // A certificate and key that do not match (a rotation read half written), or text that is not PEM, fail here.
      createSecureContext({ ...(ca ? { ca } : {}), ...(certificate ? { cert: certificate } : {}), ...(privateKey ? { key: privateKey } : {}) });
    } catch (reason: unknown) {
      this.lastError =
        reason instanceof XdsError
          ? reason
          : new XdsError("INVALID_CONFIG", `${this.label}: the files do not hold a usable certificate, key and CA: ${messageOf(reason)}`, { cause: reason });
      return;
    }
    const old = this.material;
    if (old !== undefined && same(old.ca, ca) && same(old.certificate, certificate) && same(old.privateKey, privateKey)) return;
    this.material = {
      version: (old?.version ?? 0) + 1,
      ...(ca ? { ca } : {}),
      ...(certificate ? { certificate } : {}),
      ...(privateKey ? { privateKey } : {}),
    };
  }

  private file(path: string | undefined, what: string): Buffer | undefined {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (reason: unknown) {
      throw new XdsError("INVALID_CONFIG", `${this.label}: cannot read the ${what} file ${path}: ${messageOf(reason)}`, { cause: reason });
    }
  }
}

function same(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
