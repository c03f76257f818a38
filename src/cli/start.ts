// `npm start`: placeholder until the demo and the local colony exist.
console.log('Physalia: nothing to start yet.');
