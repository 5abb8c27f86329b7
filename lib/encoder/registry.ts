// The registry of the encoders this package knows: importing this file registers every built-in kind with
// Encoder.load. A new encoder is its own file (a subclass of Encoder that calls Encoder.register)
// and one import line here.
import './bag.js';
import './static.js';

export { Encoder } from './encoder.js';
