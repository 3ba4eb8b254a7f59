// Checks, in the voter's own browser, that each access event shown is in the public log:
// 1. the checkpoint is signed by the log's Ed25519 key (C2SP signed-note),
// 2. each entry's leaf hash, folded with its inclusion proof (RFC 9162 §2.1.3.2), gives the
//    checkpoint's root hash.
// The checks are in log-proof.js, shared with verify-results.js. Without scripts, the page
// still shows the entries and the command to check them.
'use strict';

(function () {
  const section = document.getElementById('proofs');
  const proofs = window.VotervaultLogProof;
  if (!section || !proofs || !window.crypto || !window.crypto.subtle) return;

  async function run() {
    const checkpoint = await proofs.reportCheckpoint(
      section,
      document.getElementById('checkpoint-status'),
    );
    if (checkpoint === null) return;
    for (const item of section.querySelectorAll('li[data-index]')) {
      const target = item.querySelector('[data-role="status"]');
      const index = Number(item.dataset.index);
      try {
        await proofs.checkEntry(item, index, checkpoint);
        proofs.say(target, true, 'Verified: log entry ' + index + ' is in the signed checkpoint.');
      } catch (error) {
        proofs.say(target, false, 'Not verified: log entry ' + index + ' (' + error.message + ').');
      }
    }
  }

  run().finally(function () {
    section.dataset.verified = 'done';
  });
})();
