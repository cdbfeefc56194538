package compute

import (
	"fmt"
	"testing"
)

// The paper's shape (ULMFiT, AWD-LSTM): vocabulary V, embedding E, hidden H
// (fastai's 1152), BPTT T, batch B; paramCount is the model's ~45M parameters
// (embedding/decoder 24M, three LSTMs 20.3M, biases).
const (
	paperV, paperE, paperH = 60000, 400, 1152
	paperT, paperB         = 70, 64
	paperTokens            = paperT * paperB // 4480 rows per step
	paramCount             = 45_000_000
)

// benchKernelSets are the CPU backends the kernel benchmarks compare: the
// BLAS plays no part in them.
func benchKernelSets() []*CPU {
	var out []*CPU
	for _, k := range []KernelSet{AVX2Kernels, GoKernels} {
		if k.Available() {
			out = append(out, &CPU{BLAS: GonumSgemm{}, Kernels: k})
		}
	}
	return out
}

// touched returns n zeros written one by one, so that the first timed call
// does not pay for the OS mapping fresh pages.
func touched(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 0
	}
	return x
}

// BenchmarkKernels times each kernel at the size one paper-shape training
// step uses it, for each kernel set. Sub-benchmarks are named
// Kernel/size/kernels=set, so benchstat can compare sets.
func BenchmarkKernels(b *testing.B) {
	type kernelBench struct {
		name  string
		bytes int64 // memory each call reads and writes, for MB/s
		// setup allocates the operands and returns one call.
		setup func(cpu *CPU) func()
	}
	const N, V = 512, paperV
	benches := []kernelBench{
		{fmt.Sprintf("SoftmaxCrossEntropy/N=%d,V=%d", N, V), 2 * 4 * N * V, func(cpu *CPU) func() {
			logits, targets, losses := randVec(newRand(1), N*V, 5), make([]int32, N), touched(N)
			for i := range targets {
				targets[i] = int32(i * 97 % V)
			}
			return func() {
				cpu.SoftmaxCrossEntropy(vecOf(logits), ivecOf(targets), vecOf(losses), N, V)
			}
		}},
		// Repeated calls apply the activations to activations: the same
		// work, since the kernels do not branch on values.
		{fmt.Sprintf("LSTMCellForward/B=%d,H=%d", paperB, paperH), 4 * 11 * paperB * paperH, func(cpu *CPU) func() {
			r := newRand(2)
			gates := randVec(r, 4*paperB*paperH, 3)
			cPrev, c, h := randVec(r, paperB*paperH, 1), touched(paperB*paperH), touched(paperB*paperH)
			return func() {
				cpu.LSTMCellForward(vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(h), paperB, paperH)
			}
		}},
		{fmt.Sprintf("LSTMCellBackward/B=%d,H=%d", paperB, paperH), 4 * 13 * paperB * paperH, func(cpu *CPU) func() {
			r := newRand(3)
			gates, dgates := randVec(r, 4*paperB*paperH, 1), touched(4*paperB*paperH)
			cPrev, c, dh, dc := randVec(r, paperB*paperH, 1), randVec(r, paperB*paperH, 1),
				randVec(r, paperB*paperH, 1), randVec(r, paperB*paperH, 1)
			return func() {
				cpu.LSTMCellBackward(vecOf(dgates), vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(dh), vecOf(dc), paperB, paperH)
			}
		}},
		{fmt.Sprintf("Adam/n=%d", paramCount), 4 * 7 * paramCount, func(cpu *CPU) func() {
			r := newRand(4)
			p, g := randVec(r, paramCount, 1), randVec(r, paramCount, 1)
			m, v := touched(paramCount), touched(paramCount)
			return func() {
				cpu.Adam(vecOf(p), vecOf(g), vecOf(m), vecOf(v), 1e-3, 0.7, 0.99, 1e-8, 1e-7, 5, false)
			}
		}},
		{fmt.Sprintf("SumSquares/n=%d", paramCount), 4 * paramCount, func(cpu *CPU) func() {
			x := randVec(newRand(5), paramCount, 1)
			return func() { cpu.SumSquares(vecOf(x)) }
		}},
		{fmt.Sprintf("Gather/N=%d,V=%d,E=%d", paperTokens, paperV, paperE), 2 * 4 * paperTokens * paperE, func(cpu *CPU) func() {
			r := newRand(6)
			table, out, ids, scale := randVec(r, paperV*paperE, 1), touched(paperTokens*paperE),
				make([]int32, paperTokens), randVec(r, paperV, 1)
			for i := range ids {
				ids[i] = int32(r.IntN(paperV))
			}
			return func() { cpu.Gather(vecOf(out), vecOf(table), ivecOf(ids), paperE, vecOf(scale)) }
		}},
		{fmt.Sprintf("ScatterAdd/N=%d,V=%d,E=%d", paperTokens, paperV, paperE), 3 * 4 * paperTokens * paperE, func(cpu *CPU) func() {
			r := newRand(7)
			dtable, dout, ids, scale := touched(paperV*paperE), randVec(r, paperTokens*paperE, 1),
				make([]int32, paperTokens), randVec(r, paperV, 1)
			for i := range ids {
				ids[i] = int32(r.IntN(paperV))
			}
			return func() { cpu.ScatterAdd(vecOf(dtable), vecOf(dout), ivecOf(ids), paperE, vecOf(scale)) }
		}},
		{fmt.Sprintf("MulTiled/T=%d,B=%d,H=%d", paperT, paperB, paperH), 3 * 4 * paperTokens * paperH, func(cpu *CPU) func() {
			r := newRand(8)
			x, m, out := randVec(r, paperTokens*paperH, 1), randVec(r, paperB*paperH, 1), touched(paperTokens*paperH)
			return func() { cpu.MulTiled(vecOf(out), vecOf(x), vecOf(m)) }
		}},
		{fmt.Sprintf("Mul/n=%d", paperTokens*paperH), 3 * 4 * paperTokens * paperH, func(cpu *CPU) func() {
			r := newRand(9)
			x, y, out := randVec(r, paperTokens*paperH, 1), randVec(r, paperTokens*paperH, 1), touched(paperTokens*paperH)
			return func() { cpu.Mul(vecOf(out), vecOf(x), vecOf(y)) }
		}},
		{fmt.Sprintf("Axpy/n=%d", paramCount), 3 * 4 * paramCount, func(cpu *CPU) func() {
			r := newRand(10)
			x, y := randVec(r, paramCount, 1), randVec(r, paramCount, 1)
			return func() { cpu.Axpy(1e-3, vecOf(x), vecOf(y)) }
		}},
		{fmt.Sprintf("Fill/n=%d", paramCount), 4 * paramCount, func(cpu *CPU) func() {
			x := touched(paramCount)
			return func() { cpu.Fill(vecOf(x), 0) }
		}},
		{fmt.Sprintf("DropoutMask/n=%d", 4*paperH*paperH), 4 * 4 * paperH * paperH, func(cpu *CPU) func() {
			x := touched(4 * paperH * paperH)
			return func() { cpu.DropoutMask(vecOf(x), 0.5, 3) }
		}},
		{fmt.Sprintf("AddRowVector/N=%d,C=%d", paperTokens, 4*paperH), 2 * 4 * paperTokens * 4 * paperH, func(cpu *CPU) func() {
			r := newRand(11)
			x, bias := randVec(r, paperTokens*4*paperH, 1), randVec(r, 4*paperH, 1)
			return func() { cpu.AddRowVector(vecOf(x), vecOf(bias), paperTokens, 4*paperH) }
		}},
		{fmt.Sprintf("SumRows/N=%d,C=%d", paperTokens, 4*paperH), 4 * paperTokens * 4 * paperH, func(cpu *CPU) func() {
			r := newRand(12)
			x, db := randVec(r, paperTokens*4*paperH, 1), touched(4*paperH)
			return func() { cpu.SumRows(vecOf(db), vecOf(x), paperTokens, 4*paperH) }
		}},
	}
	for _, kb := range benches {
		for _, cpu := range benchKernelSets() {
			b.Run(kb.name+"/kernels="+cpu.kernels().name, func(b *testing.B) {
				call := kb.setup(cpu)
				b.SetBytes(kb.bytes)
				b.ResetTimer()
				for range b.N {
					call()
				}
			})
		}
	}
}

// BenchmarkSgemm times the matrix products of a paper-shape training step,
// in the transposes the model uses (model/lstm.go, model/decoder.go),
// reporting GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	const G = 4 * paperH
	shapes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		// The input projection of layer 2 over all T*B rows, x * W_ih^T,
		// and of layer 1 with W_ih and W_hh side by side (K = E + H).
		{"input/x*Wih^T", false, true, paperTokens, G, paperH},
		{"input-fused/x*W^T", false, true, paperTokens, G, paperE + paperH},
		// One recurrent step, h_{t-1} * W_hh^T, and its backward dgates * W_hh.
		{"recurrent/h*Whh^T", false, true, paperB, G, paperH},
		{"recurrent-back/dgates*Whh", false, false, paperB, paperH, G},
		// The weight gradient of layer 2, dgates^T * x.
		{"weight-grad/dgates^T*x", true, false, G, paperH, paperTokens},
		// The tied decoder on a chunk of 512 rows: logits = out * E^T,
		// dout = dlogits * E, dE = dlogits^T * out.
		{"decoder/out*E^T", false, true, 512, paperV, paperE},
		{"decoder-back/dlogits*E", false, false, 512, paperE, paperV},
		{"decoder-grad/dlogits^T*out", true, false, paperV, paperE, 512},
		// The same on the model's chunk of 1120 rows (model/awdlstm.go).
		{"decoder/out*E^T", false, true, 1120, paperV, paperE},
		{"decoder-back/dlogits*E", false, false, 1120, paperE, paperV},
		{"decoder-grad/dlogits^T*out", true, false, paperV, paperE, 1120},
	}
	type engine struct {
		blas Sgemm
		bf16 bool
	}
	var engines []engine
	for _, bl := range BLASes() {
		engines = append(engines, engine{bl, false})
	}
	// bfloat16 operands (CPU.BF16) on the default BLAS, their rounding
	// included in the time.
	engines = append(engines, engine{defaultSgemm(), true})
	for _, sh := range shapes {
		for _, e := range engines {
			cpu := &CPU{BLAS: e.blas, BF16: e.bf16}
			name := fmt.Sprintf("%s/m=%d,n=%d,k=%d/blas=%s", sh.name, sh.m, sh.n, sh.k, e.blas.Name())
			if e.bf16 {
				name += "/bf16"
			}
			b.Run(name, func(b *testing.B) {
				r := newRand(13)
				a, bm := randVec(r, sh.m*sh.k, 1), randVec(r, sh.k*sh.n, 1)
				c := touched(sh.m * sh.n)
				lda, ldb := sh.k, sh.n
				if sh.transA {
					lda = sh.m
				}
				if sh.transB {
					ldb = sh.k
				}
				b.ResetTimer()
				for range b.N {
					cpu.Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, vecOf(a), lda, vecOf(bm), ldb, 0, vecOf(c), sh.n)
				}
				flops := 2 * float64(sh.m) * float64(sh.n) * float64(sh.k) * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkRecurrentStep times the inner loop of an LSTM layer at the paper
// shape: one step's recurrent product h_{t-1} * W_hh^T added into the gates,
// then the cell (model/lstm.go); and the backward's dgates * W_hh and
// backward cell. The BLAS and the kernels take turns on the cores, so this
// shows whether either slows the other (OpenBLAS's idle workers spin for a
// while after each call; see OPENBLAS_THREAD_TIMEOUT in the README).
func BenchmarkRecurrentStep(b *testing.B) {
	const B, H, G = paperB, paperH, 4 * paperH
	r := newRand(14)
	whh, h := randVec(r, G*H, 0.05), randVec(r, B*H, 1)
	gates, cPrev, c := randVec(r, B*G, 1), randVec(r, B*H, 1), touched(B*H)
	dgates, dh, dc := randVec(r, B*G, 1), randVec(r, B*H, 1), randVec(r, B*H, 1)
	for _, cpu := range benchKernelSets() {
		cpu.BLAS = defaultSgemm()
		b.Run("forward/"+cpu.Name(), func(b *testing.B) {
			for range b.N {
				cpu.Gemm(false, true, B, G, H, 1, vecOf(h), H, vecOf(whh), H, 1, vecOf(gates), G)
				cpu.LSTMCellForward(vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(h), B, H)
			}
		})
		b.Run("backward/"+cpu.Name(), func(b *testing.B) {
			for range b.N {
				// beta 0 where the model adds into dh, so that the
				// repeated steps do not grow dh without bound.
				cpu.Gemm(false, false, B, H, G, 1, vecOf(dgates), G, vecOf(whh), H, 0, vecOf(dh), H)
				cpu.LSTMCellBackward(vecOf(dgates), vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(dh), vecOf(dc), B, H)
			}
		})
	}
}

// BenchmarkDecoderChunk runs the tied decoder's forward and backward over
// a quarter of a paper-shape step (1120 of its 4480 token rows) in chunks of
// the given rows, as model/decoder.go does: logits = out*E^T, + bias,
// softmax cross-entropy in place, dout = dlogits*E, dE += dlogits^T*out,
// dbias += column sums. Small chunks keep the (chunk, V) logits in cache
// for the pointwise passes; large ones feed the BLAS bigger products.
func BenchmarkDecoderChunk(b *testing.B) {
	const N, V, E = paperTokens / 4, paperV, paperE
	r := newRand(15)
	out, enc, bias := randVec(r, N*E, 1), randVec(r, V*E, 0.05), randVec(r, V, 0.1)
	dout, denc, dbsum := touched(N*E), touched(V*E), touched(V)
	targets, losses := make([]int32, N), touched(N)
	for i := range targets {
		targets[i] = int32(r.IntN(V))
	}
	for _, cpu := range benchKernelSets() {
		if cpu.Kernels != BestKernels() {
			continue
		}
		cpu.BLAS = defaultSgemm()
		for _, chunk := range []int{56, 112, 224, 560, 1120} {
			lg := touched(chunk * V)
			b.Run(fmt.Sprintf("N=%d,chunk=%d/%s", N, chunk, cpu.Name()), func(b *testing.B) {
				for range b.N {
					for r0 := 0; r0 < N; r0 += chunk {
						n := min(chunk, N-r0)
						l, o := vecOf(lg[:n*V]), vecOf(out[r0*E:(r0+n)*E])
						cpu.Gemm(false, true, n, V, E, 1, o, E, vecOf(enc), E, 0, l, V)
						cpu.AddRowVector(l, vecOf(bias), n, V)
						cpu.SoftmaxCrossEntropy(l, ivecOf(targets[r0:r0+n]), vecOf(losses[r0:r0+n]), n, V)
						cpu.Gemm(false, false, n, E, V, 1, l, V, vecOf(enc), E, 0, vecOf(dout[r0*E:(r0+n)*E]), E)
						cpu.Gemm(true, false, V, E, n, 1, l, V, o, E, 1, vecOf(denc), E)
						cpu.SumRows(vecOf(dbsum), l, n, V)
					}
				}
				flops := 3 * 2 * float64(N) * V * E * float64(b.N)
				b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
