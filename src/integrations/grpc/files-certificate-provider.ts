// A grpc-js CertificateProvider (its experimental interface, which `createCertificateProviderServerCredentials` takes)
// over the files of a bootstrap certificate provider instance (transport/certificate-files.ts). While anything
// listens — a bound grpc-js server's credentials do, until the server closes — the files are read again every refresh
// interval, and listeners hear of new contents, so a server's new connections use rotated files. A read that fails
// keeps the last good files. With no listener left, no timer is held.

import type { experimental } from "@grpc/grpc-js";
import type { CertificateFiles, CertificateMaterial } from "../../transport/certificate-files.js";

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** The CA or the identity of a certificate provider instance's files, for grpc-js server credentials. */
export class FilesCertificateProvider implements experimental.CertificateProvider {
  private readonly caListeners = new Set<CaListener>();
  private readonly identityListeners = new Set<IdentityListener>();
  private timer: NodeJS.Timeout | undefined;
  private material: CertificateMaterial | undefined;

  constructor(private readonly files: CertificateFiles) {}

  addCaCertificateListener(listener: CaListener): void {
    this.caListeners.add(listener);
    this.started(() => listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: CaListener): void {
    this.caListeners.delete(listener);
    this.stopIfIdle();
  }

  addIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.add(listener);
    this.started(() => listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.identityListeners.delete(listener);
    this.stopIfIdle();
  }

  /**
   * Starts polling if it was not, and tells the new listener the current files once the caller is done (grpc-js adds
   * its server's watcher right after adding its listeners; an update before that would be lost).
   */
  private started(tell: () => void): void {
    if (this.timer === undefined) {
      this.material = this.read();
      this.timer = setInterval(() => this.poll(), this.files.refreshIntervalMs);
      this.timer.unref();
    }
    queueMicrotask(() => {
      if (this.timer !== undefined) tell();
    });
  }

  private poll(): void {
    const material = this.read();
    if (material === this.material) return;
    this.material = material;
    const ca = this.caUpdate();
    const identity = this.identityUpdate();
    for (const listener of this.caListeners) listener(ca);
    for (const listener of this.identityListeners) listener(identity);
  }

  /** The files' latest good contents; the last known ones when they cannot be read. */
  private read(): CertificateMaterial | undefined {
    try {
      return this.files.current();
    } catch {
      return this.material;
    }
  }

  private caUpdate(): experimental.CaCertificateUpdate | null {
    const ca = this.material?.ca;
    return ca === undefined ? null : { caCertificate: ca };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { certificate, privateKey } = this.material ?? {};
    return certificate === undefined || privateKey === undefined ? null : { certificate, privateKey };
  }

  private stopIfIdle(): void {
    if (this.caListeners.size > 0 || this.identityListeners.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
