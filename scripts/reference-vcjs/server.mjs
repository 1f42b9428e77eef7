// A Digital Bazaar vc-js verifier behind a VC-API `POST /credentials/verify`,
// the reference the load test compares our verifier with (issue #16). It knows
// the same bundled contexts as wallet-core (read from wallet-core/contexts) and
// resolves did:key for P-256 multikeys; it checks the proof (ecdsa-rdfc-2019)
// and the data model, not the status list, trust or anchoring: it does less work
// than our verifier. It runs one worker per core (node:cluster), as a deployed
// Node service would, so the comparison is core for core.
//
//   node server.mjs PORT CONTEXTS_DIR
import cluster from 'node:cluster';
import http from 'node:http';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as ecdsaRdfc2019Cryptosuite} from '@digitalbazaar/ecdsa-rdfc-2019-cryptosuite';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

const [port, contextsDir] = process.argv.slice(2);
if (cluster.isPrimary) {
  const workers = os.availableParallelism();
  for (let i = 0; i < workers; i++) {
    cluster.fork();
  }
  console.log(`vc-js reference verifier: ${workers} workers on 127.0.0.1:${port}`);
} else {
  serve();
}

function serve() {
  const contexts = new Map();
  const urls = {
    'ecert-v1.jsonld': 'https://w3id.org/ecert/v1',
    'credentials-v2.jsonld': 'https://www.w3.org/ns/credentials/v2',
    'credentials-v1.jsonld': 'https://www.w3.org/2018/credentials/v1',
    'credentials-examples-v2.jsonld': 'https://www.w3.org/ns/credentials/examples/v2',
    'credentials-undefined-terms-v2.jsonld': 'https://www.w3.org/ns/credentials/undefined-terms/v2',
    'security-data-integrity-v2.jsonld': 'https://w3id.org/security/data-integrity/v2',
    'security-multikey-v1.jsonld': 'https://w3id.org/security/multikey/v1',
    'ns-did-v1.jsonld': 'https://www.w3.org/ns/did/v1',
  };
  for (const [file, url] of Object.entries(urls)) {
    contexts.set(url, JSON.parse(fs.readFileSync(path.join(contextsDir, file), 'utf8')));
  }

  const didKey = didKeyDriver();
  didKey.use({multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from});

  async function documentLoader(url) {
    if (contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
    }
    if (url.startsWith('did:key:')) {
      const document = await didKey.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    throw new Error(`document not allowed: ${url}`);
  }

  const suite = new DataIntegrityProof({cryptosuite: ecdsaRdfc2019Cryptosuite});

  const server = http.createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/credentials/verify') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const result = await vc.verifyCredential({
          credential: body.verifiableCredential, suite, documentLoader,
          // Not checked here (our verifier does check it): the reference does less work.
          checkStatus: async () => ({verified: true}),
        });
        res.writeHead(result.verified ? 200 : 400, {'content-type': 'application/json'});
        res.end(JSON.stringify({verified: result.verified, error: result.verified ? undefined : String(result.error)}));
      } catch (e) {
        res.writeHead(400, {'content-type': 'application/json'});
        res.end(JSON.stringify({verified: false, error: String(e)}));
      }
    });
  });
  server.listen(Number(port), '127.0.0.1');
}
