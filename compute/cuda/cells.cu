// The cell kernels of the per-step recurrence (forwardSteps and
// LSTMRecurrentBackward in recurrent.go): lstm_forward and lstm_backward
// that first add a step's recurrent product, given as the partial products
// of its K-slices, and write the bfloat16 operand of the next step's
// product. Compiled after kernels.cu and decoder.cu, whose i64, FOR_EACH,
// pdl_wait, lstm_forward_one, lstm_backward_one, bf16 and to_bf16_rn they
// use. The host's compiler runs them too (TestHostCellKernels).

// lstm_forward_parts is lstm_forward after adding a step's recurrent
// product to the gates' input part, given as nparts partial products
// (parts, nparts blocks of (B, 4H): the K-slices of h_{t-1} W_hh^T), in
// order; nparts = 0 leaves the gates as they are (the product was
// accumulated into them). bias, when not null, is added last
// (lstm_forward_one). Where hb is not null it also writes h_t in bfloat16
// (hb, (B, H)): the operand of the next step's product at BF16.
extern "C" __global__ void lstm_forward_parts(float* gates, const float* bias, const float* parts, int nparts, const float* cPrev, float* c,
                                              float* h, bf16* hb, int batch, int hidden) {
	pdl_wait();
	i64 n = (i64)batch * hidden;
	FOR_EACH(k, n) {
		if (nparts > 0) {
			int b = (int)k / hidden, j = (int)k - b * hidden;
			float* g = gates + (i64)b * 4 * hidden;
			const float* pp = parts + (i64)b * 4 * hidden;
			for (int q = 0; q < 4; q++) {
				float s = g[q * hidden + j];
				for (int p = 0; p < nparts; p++) s += pp[p * 4 * n + q * hidden + j];
				g[q * hidden + j] = s;
			}
		}
		float hv = lstm_forward_one(gates, bias, cPrev, c, h, hidden, k);
		if (hb != 0) hb[k] = to_bf16_rn(hv);
	}
}

// lstm_backward_parts is lstm_backward after adding a step's recurrent
// gradient to dh, given as nparts partial products (parts, nparts blocks of
// (B, H): the K-slices of dgates_{t+1} W_hh), in order; dh keeps the sum,
// as the model's loop leaves it. Where dgb is not null it also writes the
// gates' gradients in bfloat16 (dgb, (B, 4H)), the operand of the next
// step's product at BF16.
extern "C" __global__ void lstm_backward_parts(float* dgates, const float* gates, const float* cPrev, const float* c, float* dh,
                                               float* dc, const float* parts, int nparts, bf16* dgb, int batch, int hidden) {
	pdl_wait();
	i64 n = (i64)batch * hidden;
	FOR_EACH(k, n) {
		float s = dh[k];
		for (int p = 0; p < nparts; p++) s += parts[p * n + k];
		dh[k] = s;
		float d[4];
		lstm_backward_one(dgates, gates, cPrev, c, dh, dc, hidden, k, d);
		if (dgb != 0) {
			int b = (int)k / hidden;
			bf16* o = dgb + (i64)b * 4 * hidden + ((int)k - b * hidden);
			o[0] = to_bf16_rn(d[0]);
			o[hidden] = to_bf16_rn(d[1]);
			o[2 * hidden] = to_bf16_rn(d[2]);
			o[3 * hidden] = to_bf16_rn(d[3]);
		}
	}
}
