/**
 * A throwaway certificate authority for the sandbox providers: an ECDSA P-256 root made at start, in memory only,
 * that issues TLS server certificates and Apple-style push client certificates.
 */
import { webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface SandboxCa {
  /** The CA certificate, for NODE_EXTRA_CA_CERTS or a client's `ca`. */
  readonly certPem: string;
  /** A TLS server certificate whose SANs are the given DNS names and IP addresses. */
  issueServerCertificate(hostnames: string[]): Promise<IssuedCertificate>;
  /** A client certificate shaped like Apple's push certificates: the subject's UID is the app's topic. */
  issueClientCertificate(subject: { uid: string; commonName?: string }, validDays?: number): Promise<IssuedCertificate>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdated so that a peer whose clock runs a little behind still accepts a certificate made just now. */
const CLOCK_SKEW_MS = 60 * 60 * 1000;
/** RFC 4519 `uid`, which OpenSSL (and so Node) prints as "UID", as in Apple's push certificates. */
const UID_OID = "0.9.2342.19200300.100.1.1";

const ecdsaP256: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const ecdsaWithSha256: webcrypto.EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

// The library's default provider is whatever `globalThis.crypto` is; passing Node's WebCrypto to every call keeps
// this module independent of global state.
const cryptoProvider = webcrypto;

export async function createSandboxCa(): Promise<SandboxCa> {
  // The CA's private key never leaves this closure, so it is not extractable.
  const caKeys = await cryptoProvider.subtle.generateKey(ecdsaP256, false, ["sign", "verify"]);
  const caName = "CN=Herald Sandbox CA, O=Herald Sandbox";
  const { notBefore, notAfter } = validity(1);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialNumber(),
      name: caName,
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: ecdsaWithSha256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, cryptoProvider),
      ],
    },
    cryptoProvider,
  );

  async function issue(
    subject: x509.JsonName,
    validDays: number,
    extensions: x509.Extension[],
  ): Promise<IssuedCertificate> {
    const keys = await cryptoProvider.subtle.generateKey(ecdsaP256, true, ["sign", "verify"]);
    const period = validity(validDays);
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: randomSerialNumber(),
        subject,
        issuer: caCert.subject,
        notBefore: period.notBefore,
        notAfter: period.notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ecdsaWithSha256,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, cryptoProvider),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, cryptoProvider),
          ...extensions,
        ],
      },
      cryptoProvider,
    );
    const pkcs8 = await cryptoProvider.subtle.exportKey("pkcs8", keys.privateKey);
    return {
      certPem: cert.toString("pem"),
      keyPem: x509.PemConverter.encode(pkcs8, "PRIVATE KEY"),
      notAfter: period.notAfter,
    };
  }

  return {
    certPem: caCert.toString("pem"),

    issueServerCertificate(hostnames) {
      const names: x509.JsonGeneralNames = hostnames.map((name) => ({ type: isIP(name) ? "ip" : "dns", value: name }));
      return issue([{ CN: [hostnames[0] ?? "localhost"] }, { O: ["Herald Sandbox"] }], 1, [
        new x509.SubjectAlternativeNameExtension(names, false),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      ]);
    },

    issueClientCertificate({ uid, commonName }, validDays = 1) {
      const subject: x509.JsonName = [
        { [UID_OID]: [uid] },
        { CN: [commonName ?? `Apple Push Services: ${uid}`] },
        { O: ["Herald Sandbox"] },
      ];
      return issue(subject, validDays, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)]);
    },
  };
}

/** From now (backdated) to `days` from now; a negative count gives a certificate that has already expired. */
function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  const notAfter = new Date(now + days * DAY_MS);
  const notBefore = new Date(Math.min(now - CLOCK_SKEW_MS, notAfter.getTime() - DAY_MS));
  return { notBefore, notAfter };
}

/** Positive (high bit clear) and unique enough that no two certificates of one CA share a serial number. */
function randomSerialNumber(): string {
  const bytes = cryptoProvider.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return Buffer.from(bytes).toString("hex");
}
