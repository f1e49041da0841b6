// Certificates for the security tests, made at test time with @peculiar/x509 over WebCrypto (no openssl CLI,
// no ASN.1 by hand): a mesh CA, and leaf certificates it signs with the SANs Istio uses (a workload's SPIFFE
// URI, istiod's DNS name), valid now, expired, or not yet valid.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { webcrypto } from "node:crypto";

type CryptoKeyPair = webcrypto.CryptoKeyPair;
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const hour = 3600_000;
let serial = 1;

/** A certificate and its private key, PEM-encoded. */
export interface KeyPair {
  readonly certificate: string;
  readonly privateKey: string;
}

/** A SAN of a leaf certificate. */
export type San = { readonly uri: string } | { readonly dns: string } | { readonly ip: string };

/** What a leaf certificate says. */
export interface LeafOptions {
  readonly sans: readonly San[];
  /** Default: an hour ago. */
  readonly notBefore?: Date;
  /** Default: in an hour. */
  readonly notAfter?: Date;
}

/** A certificate authority that signs leaf certificates. */
export class MeshCa {
  private constructor(
    private readonly keys: CryptoKeyPair,
    private readonly cert: x509.X509Certificate,
  ) {}

  /** A new self-signed CA named `name`. */
  static async create(name = "rxds test mesh CA"): Promise<MeshCa> {
    const keys = await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: hex(serial++),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - hour),
      notAfter: new Date(Date.now() + 24 * hour),
      signingAlgorithm: algorithm,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    return new MeshCa(keys as CryptoKeyPair, cert);
  }

  /** The CA certificate, PEM. */
  get certificate(): string {
    return this.cert.toString("pem");
  }

  /** A leaf certificate with `sans`, signed by this CA. */
  async issue(options: LeafOptions): Promise<KeyPair> {
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: hex(serial++),
      subject: "O=rxds test",
      issuer: this.cert.subject,
      notBefore: options.notBefore ?? new Date(Date.now() - hour),
      notAfter: options.notAfter ?? new Date(Date.now() + hour),
      signingAlgorithm: algorithm,
      publicKey: keys.publicKey,
      signingKey: this.keys.privateKey,
      extensions: [
        new x509.SubjectAlternativeNameExtension(options.sans.map(sanEntry)),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    const privateKey = x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
    return { certificate: cert.toString("pem"), privateKey };
  }
}

/** A workload's SPIFFE identity as Istio writes it: `spiffe://cluster.local/ns/<ns>/sa/<sa>`. */
export function spiffe(namespace: string, serviceAccount: string): San {
  return { uri: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}` };
}

/**
 * A temporary directory holding certificate files as Istio's agent writes them (`root-cert.pem`,
 * `cert-chain.pem`, `key.pem`), and any other file a test needs; `remove()` deletes it.
 */
export class CertificateDir {
  private constructor(readonly path: string) {}

  static async create(): Promise<CertificateDir> {
    return new CertificateDir(await mkdtemp(join(tmpdir(), "rxds-certs-")));
  }

  /** The path of `name` in the directory. */
  file(name: string): string {
    return join(this.path, name);
  }

  /** Writes the CA as `root-cert.pem` and, if given, a workload's key pair as `cert-chain.pem` and `key.pem`. */
  async writeMesh(ca: { readonly certificate: string }, workload?: KeyPair): Promise<void> {
    await writeFile(this.file("root-cert.pem"), ca.certificate);
    if (workload !== undefined) {
      await writeFile(this.file("cert-chain.pem"), workload.certificate);
      await writeFile(this.file("key.pem"), workload.privateKey);
    }
  }

  /** Writes `text` as `name`. */
  async write(name: string, text: string): Promise<string> {
    await writeFile(this.file(name), text);
    return this.file(name);
  }

  async remove(): Promise<void> {
    await rm(this.path, { recursive: true, force: true });
  }
}

/** An unsigned JWT (`alg: none`) with `claims`: enough for a client, which reads only `exp` (gRFC A97). */
export function jwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

function sanEntry(san: San): x509.JsonGeneralName {
  if ("uri" in san) return { type: "url", value: san.uri };
  if ("dns" in san) return { type: "dns", value: san.dns };
  return { type: "ip", value: san.ip };
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}
