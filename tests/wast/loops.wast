;; loops.wast — counted loops that the translator copies with 64-bit
;; addresses behind a guard (engine/translate_loop.c). Each function has
;; the shape the copy needs; each test either passes the guard (the copy
;; runs) or fails one of its conditions (the original loop runs): an
;; address that wraps past 2^32, one below 0 through a negative constant,
;; one past the memory's end, a counter that never meets its bound, a
;; counter that starts at or past it. The answers are the spec's either way.

(module
  (memory 1)
  (data (i32.const 0x200)
    "\00\00\00\00\00\00\f0\3f"  ;; 1.0
    "\00\00\00\00\00\00\00\40"  ;; 2.0
    "\00\00\00\00\00\00\08\40"  ;; 3.0
    "\00\00\00\00\00\00\10\40"  ;; 4.0
    "\00\00\00\00\00\00\14\40"  ;; 5.0
    "\00\00\00\00\00\00\18\40"  ;; 6.0
    "\00\00\00\00\00\00\1c\40"  ;; 7.0
    "\00\00\00\00\00\00\20\40") ;; 8.0

  (func (export "get") (param i32) (result f64) (f64.load (local.get 0)))
  (func (export "get32") (param i32) (result i32) (i32.load (local.get 0)))

  ;; dst[x] = src[x] * 2 for x = x0, x0 + 8, ... until x == bytes
  (func (export "scale") (param $dst i32) (param $src i32) (param $x i32) (param $bytes i32)
    (loop $l
      (f64.store (i32.add (local.get $dst) (local.get $x))
        (f64.mul (f64.load (i32.add (local.get $src) (local.get $x))) (f64.const 2)))
      (br_if $l (i32.ne (local.tee $x (i32.add (local.get $x) (i32.const 8)))
                        (local.get $bytes)))))

  ;; the same with i32.lt_u and a constant bound of 64 bytes
  (func (export "scale_lt") (param $dst i32) (param $src i32) (param $x i32)
    (loop $l
      (f64.store (i32.add (local.get $dst) (local.get $x))
        (f64.mul (f64.load (i32.add (local.get $src) (local.get $x))) (f64.const 2)))
      (br_if $l (i32.lt_u (local.tee $x (i32.add (local.get $x) (i32.const 8)))
                          (i32.const 64)))))

  ;; dst[i - 1] = src[i] + 1 by element index: addresses p + (i << 3) - 8,
  ;; the store's through a local, the load's through a multiplication
  (func (export "shift") (param $dst i32) (param $src i32) (param $i i32) (param $n i32)
    (local $p i32)
    (loop $l
      (local.set $p (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 3))))
      (f64.store (i32.sub (local.get $p) (i32.const 8))
        (f64.add (f64.load (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 8))))
                 (f64.const 1)))
      (br_if $l (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                        (local.get $n)))))

  ;; copy n / 2 doubles from src to dst + 8, both pointers stepped by 8,
  ;; the counter n counted down to 0 by twos
  (func (export "copy_down") (param $dst i32) (param $src i32) (param $n i32)
    (loop $l
      (f64.store (i32.add (local.get $dst) (i32.const 8)) (f64.load (local.get $src)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
      (local.set $src (i32.add (local.get $src) (i32.const 8)))
      (br_if $l (local.tee $n (i32.add (local.get $n) (i32.const -2))))))

  ;; sum of the bytes at p + x for x = x0, x0 - 4, ... while x - 4 > e
  ;; (the bound first), a stride going down
  (func (export "sum_down") (param $p i32) (param $x i32) (param $e i32) (result i32)
    (local $s i32)
    (loop $l
      (local.set $s (i32.add (local.get $s) (i32.load8_u (i32.add (local.get $p) (local.get $x)))))
      (br_if $l (i32.lt_u (local.get $e) (local.tee $x (i32.add (local.get $x) (i32.const -4))))))
    (local.get $s))

  ;; i32 sum with a dead load at p + x on every round
  (func (export "sum_dead") (param $p i32) (param $q i32) (param $x i32) (param $bytes i32)
    (result i32)
    (local $s i32)
    (loop $l
      (drop (i32.load (i32.add (local.get $p) (local.get $x))))
      (local.set $s (i32.add (local.get $s) (i32.load (i32.add (local.get $q) (local.get $x)))))
      (br_if $l (i32.ne (local.tee $x (i32.add (local.get $x) (i32.const 4)))
                        (local.get $bytes))))
    (local.get $s))
)

;; in bounds: the copy runs
(assert_return (invoke "scale" (i32.const 0x400) (i32.const 0x200) (i32.const 0) (i32.const 64)))
(assert_return (invoke "get" (i32.const 0x400)) (f64.const 2))
(assert_return (invoke "get" (i32.const 0x438)) (f64.const 16))
(assert_return (invoke "scale_lt" (i32.const 0x800) (i32.const 0x200) (i32.const 8)))
(assert_return (invoke "get" (i32.const 0x800)) (f64.const 0))
(assert_return (invoke "get" (i32.const 0x808)) (f64.const 4))
(assert_return (invoke "get" (i32.const 0x838)) (f64.const 16))
(assert_return (invoke "shift" (i32.const 0xc00) (i32.const 0x200) (i32.const 1) (i32.const 8)))
(assert_return (invoke "get" (i32.const 0xc00)) (f64.const 3))
(assert_return (invoke "get" (i32.const 0xc30)) (f64.const 9))
(assert_return (invoke "get" (i32.const 0xc38)) (f64.const 0))
(assert_return (invoke "sum_dead" (i32.const 0) (i32.const 0x200) (i32.const 0) (i32.const 64))
               (i32.const 0x00700000))

;; dst + x wraps past 2^32 to 0x0..0x38: legal, the original loop runs
(assert_return (invoke "scale" (i32.const 0xffffff00) (i32.const 0x100) (i32.const 0x100)
                               (i32.const 0x140)))
(assert_return (invoke "get" (i32.const 0x0)) (f64.const 2))
(assert_return (invoke "get" (i32.const 0x38)) (f64.const 16))
;; the same through a shift: 0xfffffff8 + (2 << 3) - 8 wraps to 0
(assert_return (invoke "shift" (i32.const 0xfffffff8) (i32.const 0x200) (i32.const 2)
                               (i32.const 4)))
(assert_return (invoke "get" (i32.const 0x0)) (f64.const 4))
(assert_return (invoke "get" (i32.const 0x8)) (f64.const 5))
;; p - 8 below 0: wraps to 0xfffffff8, out of bounds
(assert_trap (invoke "shift" (i32.const 0) (i32.const 0x200) (i32.const 0) (i32.const 4))
             "out of bounds memory access")

;; past the memory's end on the fifth round: four stores are done, then the trap
(assert_trap (invoke "scale" (i32.const 0xffe0) (i32.const 0x200) (i32.const 0) (i32.const 64))
             "out of bounds memory access")
(assert_return (invoke "get" (i32.const 0xfff8)) (f64.const 8))
;; a counter that never meets its bound (4, 12, ... never 64) runs off the memory
(assert_trap (invoke "scale" (i32.const 0x2000) (i32.const 0x200) (i32.const 4) (i32.const 64))
             "out of bounds memory access")
;; starting at the bound: one round, then the counter climbs to the memory's end
(assert_trap (invoke "scale" (i32.const 0x3000) (i32.const 0x200) (i32.const 64) (i32.const 64))
             "out of bounds memory access")
;; lt_u starting past the bound: exactly one round
(assert_return (invoke "scale_lt" (i32.const 0x3800) (i32.const 0x100) (i32.const 0x100)))
(assert_return (invoke "get" (i32.const 0x3900)) (f64.const 2))
(assert_return (invoke "get" (i32.const 0x3908)) (f64.const 0))
;; a dead load out of bounds still traps
(assert_trap (invoke "sum_dead" (i32.const 0xfff0) (i32.const 0x200) (i32.const 0) (i32.const 64))
             "out of bounds memory access")
(assert_trap (invoke "sum_dead" (i32.const 0xfffffff0) (i32.const 0x200) (i32.const 0)
                                (i32.const 64))
             "out of bounds memory access")
;; counted down with pointers that step: the copy runs
(assert_return (invoke "copy_down" (i32.const 0x4000) (i32.const 0x200) (i32.const 16)))
(assert_return (invoke "get" (i32.const 0x4008)) (f64.const 1))
(assert_return (invoke "get" (i32.const 0x4040)) (f64.const 8))
(assert_return (invoke "get" (i32.const 0x4048)) (f64.const 0))
;; dst + 8 wraps past 2^32 to 0x0..0x38: legal, the original loop runs
(assert_return (invoke "copy_down" (i32.const 0xfffffff8) (i32.const 0x208) (i32.const 16)))
(assert_return (invoke "get" (i32.const 0x0)) (f64.const 2))
(assert_return (invoke "get" (i32.const 0x30)) (f64.const 8))
;; an odd count never reaches 0 by twos: the counter wraps and the
;; pointers run off the memory
(assert_trap (invoke "copy_down" (i32.const 0x5000) (i32.const 0x200) (i32.const 5))
             "out of bounds memory access")
(assert_return (invoke "get" (i32.const 0x5008)) (f64.const 1))
;; a stride going down: x = 63, 59, ..., 7
(assert_return (invoke "sum_down" (i32.const 0x200) (i32.const 63) (i32.const 3)) (i32.const 511))
;; with the bound 0, x - 4 wraps below 0 when x is 2: the loop goes on
;; through p - 2, p - 6, ... (legal, wrapped) until p + x leaves the memory
(assert_trap (invoke "sum_down" (i32.const 0x200) (i32.const 2) (i32.const 0))
             "out of bounds memory access")

;; A loop that never ends (x stays odd, never 64) and stores out of bounds:
;; the store must trap in the first round. gcc proved the loop endless and
;; deleted the store as dead, spinning until the timeout (ZV_ROUND in
;; rt_ops.h). So with a store before an empty endless loop, and with an
;; offset that takes the address past 4 GiB.
(module
  (memory 1)
  (func (export "odd_forever") (local $x i32)
    (local.set $x (i32.const 1))
    (loop
      (i32.store (i32.const 70000) (i32.const 0))
      (br_if 0 (i32.ne (local.tee $x (i32.add (local.get $x) (i32.const 2))) (i32.const 64)))))
  (func (export "store_then_spin")
    (i32.store (i32.const 70000) (i32.const 0))
    (loop (br 0)))
  (func (export "far_store_forever")
    (loop
      (i64.store offset=0xffffffff (i32.const 0x10) (i64.const 1))
      (br 0))))
(assert_trap (invoke "odd_forever") "out of bounds memory access")
(assert_trap (invoke "store_then_spin") "out of bounds memory access")
(assert_trap (invoke "far_store_forever") "out of bounds memory access")
