// Proves the environment works: devenv run -- node hello.js
console.log(`hello from Node.js ${process.version}`);
