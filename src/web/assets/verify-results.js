// Checks, in the reader's own browser, that the results publication shown is in the public log:
// 1. the checkpoint is signed by the log's Ed25519 key (C2SP signed-note),
// 2. the publication's log entry, hashed as a leaf and folded with its inclusion proof
//    (RFC 9162 §2.1.3.2), gives the checkpoint's root hash,
// 3. that entry names the SHA-256 digest the page shows for the published results.
// The first two checks are in log-proof.js, shared with verify.js. Without scripts, the page
// still shows the entry and the commands.
'use strict';

(function () {
  const section = document.getElementById('result-proof');
  const proofs = window.VotervaultLogProof;
  if (!section || !proofs || !window.crypto || !window.crypto.subtle) return;

  async function run() {
    const target = document.getElementById('result-entry-status');
    const checkpoint = await proofs.reportCheckpoint(
      section,
      document.getElementById('result-checkpoint-status'),
    );
    if (checkpoint === null) {
      proofs.say(
        target,
        false,
        'Not verified: without a signed checkpoint the entry cannot be checked.',
      );
      return;
    }
    const index = Number(section.dataset.index);
    try {
      const entry = await proofs.checkEntry(section, index, checkpoint);
      // The digest is 64 hex digits; the canonical JSON entry holds it as a quoted string.
      const digest = (section.dataset.sha256 || '').toLowerCase();
      const text = new TextDecoder().decode(entry);
      if (!/^[0-9a-f]{64}$/.test(digest) || text.indexOf('"' + digest + '"') < 0) {
        throw new Error('the entry does not name the digest shown on this page');
      }
      proofs.say(
        target,
        true,
        'Verified: log entry ' +
          index +
          ' is in the signed checkpoint and names the digest of these results.',
      );
    } catch (error) {
      proofs.say(target, false, 'Not verified: log entry ' + index + ' (' + error.message + ').');
    }
  }

  run().finally(function () {
    section.dataset.verified = 'done';
  });
})();
