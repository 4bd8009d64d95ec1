// AudioWorklet processor: forwards microphone blocks (mono, at the context's native rate)
// to the main thread in batches, with their RMS and peak for the level meter.
// Loaded with audioWorklet.addModule(); no imports, no dependencies.

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.batch = 2048; // about 43 ms at 48 kHz
    this.buffer = new Float32Array(this.batch);
    this.filled = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const ch0 = input[0];
    const n = ch0.length;
    for (let i = 0; i < n; i++) {
      // Average the channels into mono.
      let v = ch0[i];
      if (input.length > 1) {
        for (let c = 1; c < input.length; c++) v += input[c][i];
        v /= input.length;
      }
      this.buffer[this.filled++] = v;
      if (this.filled === this.batch) this.flush();
    }
    return true;
  }

  flush() {
    const samples = this.buffer.slice(0, this.filled);
    let sum = 0;
    let peak = 0;
    for (let i = 0; i < samples.length; i++) {
      const a = Math.abs(samples[i]);
      sum += samples[i] * samples[i];
      if (a > peak) peak = a;
    }
    const rms = Math.sqrt(sum / Math.max(1, samples.length));
    this.port.postMessage({ samples, rms, peak }, [samples.buffer]);
    this.filled = 0;
  }
}

registerProcessor("wakebuilder-capture", CaptureProcessor);
