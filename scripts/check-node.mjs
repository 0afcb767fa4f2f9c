// Fara needs Node >= 22 (libp2p v3). `npm install` brings Node 24 from the
// npm registry (devDependency "node"), and npm scripts put it first on PATH.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  console.error(`fara: Node ${process.versions.node} is too old; libp2p v3 needs Node >= 22.\n` +
    'Run the scripts through npm (npm test, npm start) after `npm install`: they use the Node 24 in node_modules/.bin.')
  process.exit(1)
}
