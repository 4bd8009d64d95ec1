// Microphone capture (AudioWorklet at the device's native rate), streaming resampling to
// 16 kHz, 16-bit WAV encoding, level analysis and a hands-free recorder that starts on speech
// and stops on the pause after it. Plain ES module, no dependencies.

export const TARGET_RATE = 16000;
/** Longest recording the server accepts (audio/checks.py MAX_RECORDING_SECONDS); it trims it
 * to its speech. */
export const MAX_CLIP_SECONDS = 15.0;
/** Longest speech in a recording (audio/checks.py MAX_SPEECH_SECONDS). */
export const MAX_SPEECH_SECONDS = 5.0;
/** Level and clipping are measured on the loudest stretch this long (LEVEL_WINDOW_S). */
const LEVEL_WINDOW_S = 5.0;

export function dbfs(rms) {
  return 20 * Math.log10(Math.max(rms, 1e-9));
}

/** Streaming band-limited resampler (windowed sinc, Blackman window). */
export class Resampler {
  constructor(inRate, outRate = TARGET_RATE, zeroCrossings = 10) {
    this.inRate = inRate;
    this.outRate = outRate;
    this.step = inRate / outRate;
    // Cutoff a little under the output Nyquist, in cycles per input sample.
    this.fc = Math.min(0.5, (0.5 * outRate) / inRate) * 0.92;
    this.half = Math.ceil(zeroCrossings / (2 * this.fc));
    this.buf = new Float32Array(0);
    this.bufStart = -this.half; // absolute index of buf[0]; the stream starts with zeros
    this.buf = new Float32Array(this.half);
    this.k = 0; // next output sample index
  }

  _append(samples) {
    const merged = new Float32Array(this.buf.length + samples.length);
    merged.set(this.buf);
    merged.set(samples, this.buf.length);
    this.buf = merged;
  }

  _kernel(x) {
    const u = x / this.half;
    if (u <= -1 || u >= 1) return 0;
    const w = 0.42 + 0.5 * Math.cos(Math.PI * u) + 0.08 * Math.cos(2 * Math.PI * u);
    const a = 2 * this.fc * x;
    const sinc = a === 0 ? 1 : Math.sin(Math.PI * a) / (Math.PI * a);
    return 2 * this.fc * sinc * w;
  }

  /** Feed input samples; returns the output samples now computable. */
  push(samples) {
    if (this.inRate === this.outRate) return Float32Array.from(samples);
    this._append(samples);
    const end = this.bufStart + this.buf.length; // exclusive absolute index
    const out = [];
    for (;;) {
      const t = (this.k * this.inRate) / this.outRate;
      const center = Math.floor(t);
      if (center + this.half >= end) break;
      let acc = 0;
      for (let n = center - this.half + 1; n <= center + this.half; n++) {
        const i = n - this.bufStart;
        if (i >= 0) acc += this.buf[i] * this._kernel(t - n);
      }
      out.push(acc);
      this.k++;
    }
    // Drop input that no future output needs.
    const nextCenter = Math.floor((this.k * this.inRate) / this.outRate);
    const keepFrom = nextCenter - this.half + 1 - this.bufStart;
    if (keepFrom > 0) {
      this.buf = this.buf.slice(keepFrom);
      this.bufStart += keepFrom;
    }
    return Float32Array.from(out);
  }

  /** Push trailing zeros so every input sample has reached the output. */
  flush() {
    if (this.inRate === this.outRate) return new Float32Array(0);
    const total = Math.floor(((this.bufStart + this.buf.length) * this.outRate) / this.inRate);
    const out = this.push(new Float32Array(this.half + 2));
    const keep = Math.max(0, total - (this.k - out.length));
    return out.slice(0, Math.min(out.length, keep));
  }
}

/** Resample a whole signal. */
export function resample(samples, inRate, outRate = TARGET_RATE) {
  if (inRate === outRate) return Float32Array.from(samples);
  const r = new Resampler(inRate, outRate);
  const a = r.push(samples);
  const b = r.flush();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export function floatToInt16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    out[i] = Math.round(v < 0 ? v * 32768 : v * 32767);
  }
  return out;
}

/** 16-bit PCM mono WAV file as a Blob. */
export function encodeWav(samples, sampleRate = TARGET_RATE) {
  const pcm = floatToInt16(samples);
  const buffer = new ArrayBuffer(44 + pcm.byteLength);
  const v = new DataView(buffer);
  const str = (off, s) => { for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i)); };
  str(0, "RIFF");
  v.setUint32(4, 36 + pcm.byteLength, true);
  str(8, "WAVE");
  str(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, "data");
  v.setUint32(40, pcm.byteLength, true);
  new Int16Array(buffer, 44).set(pcm);
  return new Blob([buffer], { type: "audio/wav" });
}

/**
 * Client-side quality checks mirroring the server's rules (audio/checks.py): too long
 * (> 15 s), silent or too quiet (< -50 dBFS or peak < 0.01 over the loudest 5 s), clipped
 * (> 1 % of samples at full scale), too little speech (< 0.2 s of frames near the loudest
 * ones) or too much (speech frames spread over more than 5 s).
 */
export function analyzeClip(samples, sampleRate = TARGET_RATE) {
  const n = samples.length;
  const duration = n / sampleRate;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(samples[i]);
    if (a > peak) peak = a;
  }
  const frame = Math.round(sampleRate * 0.03);
  const energies = [];
  const sums = [];
  const clips = [];
  for (let s = 0; s + frame <= n; s += frame) {
    let e = 0;
    let c = 0;
    for (let i = s; i < s + frame; i++) {
      e += samples[i] * samples[i];
      if (Math.abs(samples[i]) >= 0.999) c++;
    }
    sums.push(e);
    clips.push(c);
    energies.push(dbfs(Math.sqrt(e / frame)));
  }
  // The loudest (and the most clipped) stretch of LEVEL_WINDOW_S, as the server measures.
  const win = Math.min(sums.length, Math.max(1, Math.round(LEVEL_WINDOW_S / 0.03)));
  const best = (values) => {
    let acc = 0;
    for (let i = 0; i < win; i++) acc += values[i] || 0;
    let top = acc;
    for (let i = win; i < values.length; i++) { acc += values[i] - values[i - win]; top = Math.max(top, acc); }
    return top;
  };
  const span = Math.max(1, Math.min(n, win * frame));
  const level = n ? dbfs(Math.sqrt(best(sums) / span)) : -120;
  const loudest = energies.length ? Math.max(...energies) : -120;
  const gate = Math.max(loudest - 30, -50);
  const loud = energies.map((e) => e > gate);
  const speech = loud.filter(Boolean).length * 0.03;
  const first = loud.indexOf(true);
  const speechSpan = first < 0 ? 0 : (loud.lastIndexOf(true) + 1 - first) * 0.03;
  const report = {
    duration_s: duration, level_dbfs: level, peak, clipped_fraction: n ? best(clips) / span : 0,
    speech_s: speech, problems: [],
  };
  if (duration > MAX_CLIP_SECONDS) {
    report.problems.push({ reason: "too_long", message: `${duration.toFixed(1)} s long; keep recordings under ${MAX_CLIP_SECONDS} s` });
  }
  if (n === 0 || level < -50 || peak < 0.01) {
    report.problems.push({ reason: "silent", message: `Too quiet (${level.toFixed(0)} dBFS); speak closer to the microphone` });
  } else if (report.clipped_fraction > 0.01) {
    report.problems.push({ reason: "clipped", message: `${(report.clipped_fraction * 100).toFixed(1)} % of samples are clipped; lower the input volume` });
  } else if (speech < 0.2) {
    report.problems.push({ reason: "too_short", message: "Hardly any speech; say the whole wake word" });
  } else if (speechSpan > MAX_SPEECH_SECONDS) {
    report.problems.push({ reason: "speech_too_long", message: `The speech in this recording lasts ${speechSpan.toFixed(1)} s; record only the wake word, under ${MAX_SPEECH_SECONDS} s` });
  }
  return report;
}

/** getUserMedia + AudioContext at the native rate + the capture worklet. */
export class Microphone {
  constructor() {
    this.listeners = new Set();
    this.context = null;
    this.stream = null;
    this.node = null;
    this.source = null;
  }

  get sampleRate() {
    return this.context ? this.context.sampleRate : 0;
  }

  get label() {
    const track = this.stream && this.stream.getAudioTracks()[0];
    return track ? track.label : "";
  }

  async open() {
    if (this.context) return this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error("This browser cannot record audio here. Use http://localhost or https, or upload files instead.");
    }
    if (!window.AudioWorkletNode) {
      throw new Error("This browser has no AudioWorklet support; upload audio files instead.");
    }
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
    // No sampleRate option: Firefox refuses to connect a stream to a context at another rate.
    this.context = new AudioContext();
    await this.context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url));
    this.source = this.context.createMediaStreamSource(this.stream);
    this.node = new AudioWorkletNode(this.context, "wakebuilder-capture", {
      numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1],
    });
    this.node.port.onmessage = (e) => {
      for (const fn of this.listeners) fn(e.data);
    };
    // The worklet outputs silence; connecting it keeps the graph pulling in every browser.
    const mute = this.context.createGain();
    mute.gain.value = 0;
    this.source.connect(this.node).connect(mute).connect(this.context.destination);
    if (this.context.state !== "running") await this.context.resume();
    return this;
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async close() {
    this.listeners.clear();
    try { this.source && this.source.disconnect(); } catch (_) { /* already gone */ }
    try { this.node && this.node.disconnect(); } catch (_) { /* already gone */ }
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) await this.context.close().catch(() => {});
    this.context = this.stream = this.node = this.source = null;
  }
}

/**
 * Hands-free recording of one clip: waits for a moment of quiet, starts at speech onset (with
 * a little pre-roll), stops after a pause once enough speech was heard, or at the time limit
 * (`maxSeconds`, 2 s past MAX_SPEECH_SECONDS: speech that long is kept whole, so the check says
 * it is too long instead of a word being cut).
 * `stop()` ends it by hand. Resolves to {samples (16 kHz Float32Array), reason}.
 */
export class ClipRecorder {
  constructor(mic, { onLevel = () => {}, onState = () => {}, maxSeconds = MAX_SPEECH_SECONDS + 2,
    waitSeconds = 10, preRollS = 0.35, pauseS = 0.6, minSpeechS = 0.25 } = {}) {
    this.mic = mic;
    this.onLevel = onLevel;
    this.onState = onState;
    this.opts = { maxSeconds, waitSeconds, preRollS, pauseS, minSpeechS };
  }

  record() {
    const rate = this.mic.sampleRate;
    const { maxSeconds, waitSeconds, preRollS, pauseS, minSpeechS } = this.opts;
    let state = "settling"; // settling -> armed -> speech -> done
    let floor = null;
    let quietRun = 0;
    let speechTotal = 0;
    let waited = 0;
    const preRoll = [];
    let preRollLen = 0;
    const captured = [];
    let capturedLen = 0;
    const all = [];
    let allLen = 0;
    this.onState(state);
    return new Promise((resolve) => {
      const finish = (reason) => {
        if (state === "done") return;
        const wasSpeech = state === "speech";
        state = "done";
        unsubscribe();
        let blocks = captured;
        if (!wasSpeech && !capturedLen) {
          // Stopped by hand before any speech onset: keep the last few seconds heard.
          blocks = all;
        }
        const joined = concat(blocks);
        const maxIn = Math.round(MAX_CLIP_SECONDS * rate) - 1;
        const clip = joined.length > maxIn ? joined.slice(joined.length - maxIn) : joined;
        this.onState("done");
        resolve({ samples: resample(clip, rate, TARGET_RATE), reason });
      };
      this.stop = () => finish("manual");
      const unsubscribe = this.mic.subscribe(({ samples, rms }) => {
        if (state === "done") return;
        const sec = samples.length / rate;
        const db = dbfs(rms);
        this.onLevel(db);
        all.push(samples);
        allLen += samples.length;
        while (allLen - all[0].length > MAX_CLIP_SECONDS * rate) allLen -= all.shift().length;
        // Noise floor: follows quiet blocks down at once, drifts up slowly.
        floor = floor === null ? db : db < floor ? db : floor + 2 * sec;
        const threshold = Math.max(floor + 14, -52);
        const loud = db > threshold;
        if (state === "settling" || state === "armed") {
          waited += sec;
          preRoll.push(samples);
          preRollLen += samples.length;
          while (preRollLen - preRoll[0].length > preRollS * rate) preRollLen -= preRoll.shift().length;
          if (state === "settling") {
            quietRun = loud ? 0 : quietRun + sec;
            if (quietRun >= 0.2) { state = "armed"; this.onState(state); }
          } else if (loud) {
            state = "speech";
            this.onState(state);
            captured.push(...preRoll);
            capturedLen += preRollLen;
            speechTotal = sec;
            quietRun = 0;
          }
          if (waited > waitSeconds) finish("timeout");
          return;
        }
        // state === "speech"
        captured.push(samples);
        capturedLen += samples.length;
        if (loud) { speechTotal += sec; quietRun = 0; } else { quietRun += sec; }
        if (quietRun >= pauseS && speechTotal >= minSpeechS) finish("pause");
        else if (quietRun >= pauseS) {
          // A click or a breath, not enough speech: wait for the next onset.
          captured.length = 0; capturedLen = 0; speechTotal = 0;
          state = "armed";
          this.onState(state);
        } else if (capturedLen / rate >= maxSeconds) finish("limit");
      });
    });
  }
}

function concat(blocks) {
  const len = blocks.reduce((a, b) => a + b.length, 0);
  const out = new Float32Array(len);
  let o = 0;
  for (const b of blocks) { out.set(b, o); o += b.length; }
  return out;
}

/** Live streaming: 16 kHz int16 chunks of `chunkMs` from the microphone. */
export class PcmStreamer {
  constructor(mic, onChunk, { chunkMs = 100, onLevel = () => {} } = {}) {
    this.resampler = new Resampler(mic.sampleRate, TARGET_RATE);
    this.pending = [];
    this.pendingLen = 0;
    this.chunk = Math.round((TARGET_RATE * chunkMs) / 1000);
    this.unsubscribe = mic.subscribe(({ samples, rms }) => {
      onLevel(dbfs(rms));
      const out = this.resampler.push(samples);
      if (out.length) { this.pending.push(out); this.pendingLen += out.length; }
      while (this.pendingLen >= this.chunk) {
        const all = concat(this.pending);
        onChunk(floatToInt16(all.subarray(0, this.chunk)));
        const rest = all.slice(this.chunk);
        this.pending = rest.length ? [rest] : [];
        this.pendingLen = rest.length;
      }
    });
  }

  stop() {
    this.unsubscribe();
  }
}
