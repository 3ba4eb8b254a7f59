// The log checks both verifying pages run in the reader's own browser, with Web Crypto only:
// the checkpoint's Ed25519 signature (C2SP signed-note) and an entry's RFC 9162 inclusion proof
// to the checkpoint's root. Plain script, so anyone can read what it does; verify.js (access
// history) and verify-results.js (results publication) load it first and use what it defines.
'use strict';

window.VotervaultLogProof = (function () {
  const enc = new TextEncoder();

  function fromBase64(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function concat(parts) {
    let length = 0;
    for (const p of parts) length += p.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }

  // SHA-256(0x00 || entry)
  function leafHash(entry) {
    return sha256(concat([Uint8Array.of(0), entry]));
  }

  // SHA-256(0x01 || left || right)
  function nodeHash(left, right) {
    return sha256(concat([Uint8Array.of(1), left, right]));
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  // RFC 9162 §2.1.3.2: root from a leaf hash, its index, the tree size and the proof.
  async function rootFromProof(leaf, index, size, proof) {
    if (index >= size) throw new Error('index beyond the tree');
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0) throw new Error('proof too long');
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error('proof too short');
    return r;
  }

  // A verifier key is "name+hexid+base64(0x01 || 32-byte Ed25519 public key)".
  async function checkCheckpoint(note, vkey) {
    // The name has no '+'; the base64 key may.
    const first = vkey.indexOf('+');
    const second = vkey.indexOf('+', first + 1);
    if (first <= 0 || second !== first + 9) throw new Error('malformed verifier key');
    const name = vkey.slice(0, first);
    const hexId = vkey.slice(first + 1, second);
    const keyB64 = vkey.slice(second + 1);
    const keyData = fromBase64(keyB64);
    if (keyData.length !== 33 || keyData[0] !== 1) throw new Error('not an Ed25519 key');
    const split = note.indexOf('\n\n');
    if (split < 0) throw new Error('malformed note');
    const text = note.slice(0, split + 1);
    const lines = text.split('\n');
    const size = Number(lines[1]);
    const root = fromBase64(lines[2]);
    const key = await crypto.subtle.importKey('raw', keyData.slice(1), { name: 'Ed25519' }, false, [
      'verify',
    ]);
    for (const line of note.slice(split + 2).split('\n')) {
      const prefix = '\u2014 ' + name + ' ';
      if (!line.startsWith(prefix)) continue;
      const sig = fromBase64(line.slice(prefix.length));
      const id = Array.from(sig.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
      if (id !== hexId || sig.length !== 68) continue;
      if (await crypto.subtle.verify({ name: 'Ed25519' }, key, sig.slice(4), enc.encode(text))) {
        return { size, root, origin: lines[0] };
      }
    }
    throw new Error('no valid signature by the log key');
  }

  function say(element, ok, message) {
    element.textContent = message;
    element.classList.add(ok ? 'verified' : 'failed');
  }

  /** Root from an entry's bytes and its base64 proof, or an Error saying why it failed. */
  async function entryRoot(entryB64, proofText, index, size) {
    const entry = fromBase64(entryB64 || '');
    const proof = (proofText || '').split(' ').filter(Boolean).map(fromBase64);
    return { entry, root: await rootFromProof(await leafHash(entry), index, size, proof) };
  }

  /**
   * Checks the checkpoint a section carries (data-checkpoint, data-vkey) and says the outcome in
   * `status`; returns the checkpoint, or null when it did not check.
   */
  async function reportCheckpoint(section, status) {
    try {
      const checkpoint = await checkCheckpoint(
        section.dataset.checkpoint || '',
        section.dataset.vkey || '',
      );
      say(
        status,
        true,
        'Verified: the checkpoint of ' +
          checkpoint.size +
          ' entries is signed by the log key of ' +
          checkpoint.origin +
          '.',
      );
      return checkpoint;
    } catch (error) {
      say(
        status,
        false,
        'Not verified: the checkpoint signature did not check (' + error.message + ').',
      );
      return null;
    }
  }

  /**
   * Checks that an element's entry (data-entry, data-proof) at `index` is in `checkpoint`;
   * returns the entry's bytes. Throws an Error saying why not.
   */
  async function checkEntry(element, index, checkpoint) {
    const { entry, root } = await entryRoot(
      element.dataset.entry,
      element.dataset.proof,
      index,
      checkpoint.size,
    );
    if (!equal(root, checkpoint.root)) throw new Error('the proof leads to another root');
    return entry;
  }

  return Object.freeze({ checkEntry, reportCheckpoint, say });
})();
