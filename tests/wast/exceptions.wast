;; The exception handling proposal's instructions (the legacy form clang 14
;; emits for setjmp/longjmp: try, catch, catch_all, throw, rethrow,
;; delegate), executed: what the translator and the engine must get right
;; (engine/translate.c and engine/trap.c "Exceptions"). An uncaught
;; exception is a trap in zvm ("uncaught exception"), which
;; assert_exception expects. Each assertion names the rule it checks.

(module
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (tag $ef (param f32 f64))
  (tag $ev (param v128))
  (tag $er (param externref funcref))
  (tag $e1b (param i32)) ;; the same type as $e1, another tag

  (func $throw1 (param i32) (throw $e1 (local.get 0)))
  (func $throw0 (throw $e0))
  (func $id (param i32) (result i32) (local.get 0))
  (elem declare func $id)

  ;; a catch gets the thrown values, of every type
  (func (export "values-i32") (param i32) (result i32)
    (try (result i32) (do (throw $e1 (local.get 0))) (catch $e1)))
  (func (export "values-multi") (param i32 i64) (result i64)
    (local $a i32) (local $b i64)
    (try (result i32 i64) (do (throw $e2 (local.get 0) (local.get 1))) (catch $e2))
    (local.set $b) (local.set $a)
    (i64.add (i64.extend_i32_u (local.get $a)) (local.get $b)))
  (func (export "values-float") (result f64)
    (local $a f32) (local $b f64)
    (try (result f32 f64) (do (throw $ef (f32.const 1.5) (f64.const 2.25))) (catch $ef))
    (local.set $b) (local.set $a)
    (f64.add (f64.promote_f32 (local.get $a)) (local.get $b)))
  ;; a NaN's bits travel as they are
  (func (export "values-nan") (result i32 i64)
    (local $a f32) (local $b f64)
    (try (result f32 f64)
      (do (throw $ef (f32.const nan:0x200001) (f64.const -nan:0x4000000000001)))
      (catch $ef))
    (local.set $b) (local.set $a)
    (i32.reinterpret_f32 (local.get $a)) (i64.reinterpret_f64 (local.get $b)))
  (func (export "values-v128") (result i64)
    (try (result v128) (do (throw $ev (v128.const i64x2 7 9))) (catch $ev))
    (i64x2.extract_lane 1))
  (func (export "values-ref") (param externref) (result externref i32)
    (local $f funcref)
    (try (result externref funcref)
      (do (throw $er (local.get 0) (ref.func $id)))
      (catch $er))
    (local.set $f)
    (i32.eqz (ref.is_null (local.get $f))))

  ;; catches are tried in order, then catch_all; an exception of no listed
  ;; tag goes on outward
  (func $classify (param i32) (result i32)
    (try (result i32)
      (do
        (if (i32.eq (local.get 0) (i32.const 0)) (then (throw $e0)))
        (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e1 (i32.const 11))))
        (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $e1b (i32.const 12))))
        (if (i32.eq (local.get 0) (i32.const 3)) (then (throw $e2 (i32.const 13) (i64.const 0))))
        (i32.const 100))
      (catch $e1b (i32.add (i32.const 1000)))
      (catch $e0 (i32.const 1))
      (catch $e1 (i32.add (i32.const 2000)))
      (catch_all (i32.const 9))))
  (func (export "classify") (param i32) (result i32) (call $classify (local.get 0)))
  (func (export "no-match") (param i32) (result i32)
    (try (result i32)
      (do (try (result i32) (do (call $throw1 (local.get 0)) (i32.const 0)) (catch $e0 (i32.const 1))))
      (catch $e1)))
  (func (export "no-catch-at-all") (result i32)
    (try (result i32)
      (do (try (do (call $throw1 (i32.const 5)))) (i32.const 0))
      (catch $e1 (i32.add (i32.const 1)))))
  (func (export "uncaught") (call $throw1 (i32.const 1)))
  (func (export "uncaught-after-catch")
    (try (do (throw $e0)) (catch $e1 (drop))))

  ;; a throw inside a catch block goes to the tries outside that construct
  (func (export "throw-in-catch") (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (throw $e0))
          (catch $e0 (throw $e1 (i32.const 42)))
          (catch $e1 (drop) (i32.const -1))))
      (catch $e1)))
  ;; rethrow: the exception a catch caught, values intact, by its depth
  (func (export "rethrow-values") (result i32 i64)
    (try (result i32 i64)
      (do (try (do (throw $e2 (i32.const 3) (i64.const 4))) (catch_all (rethrow 0))) (unreachable))
      (catch $e2)))
  (func (export "rethrow-outer") (result i32)
    (try (result i32)
      (do
        (try
          (do (throw $e1 (i32.const 7)))
          (catch $e1
            (drop)
            (block
              (try (do (throw $e1 (i32.const 8))) (catch $e1 (drop) (rethrow 2))))))
        (i32.const 0))
      (catch $e1)))
  (func (export "rethrow-inner") (result i32)
    (try (result i32)
      (do
        (try
          (do (throw $e1 (i32.const 7)))
          (catch $e1
            (drop)
            (try (do (throw $e1 (i32.const 8))) (catch $e1 (drop) (rethrow 0)))))
        (i32.const 0))
      (catch $e1)))

  ;; delegate: to a try's catches, past a block to the next try body, to
  ;; the caller, and from a catch block (that try no longer catches)
  (func (export "delegate-to-try") (result i32)
    (try $t (result i32)
      (do
        (try (result i32)
          (do (try (do (call $throw1 (i32.const 1))) (delegate $t)) (i32.const 0))
          (catch $e1 (i32.add (i32.const 100)))))
      (catch $e1 (i32.add (i32.const 200)))))
  (func (export "delegate-past-block") (result i32)
    (try (result i32)
      (do
        (block $b
          (try (do (try (do (throw $e1 (i32.const 3))) (delegate $b))) (catch $e1 (drop))))
        (i32.const 0))
      (catch $e1 (i32.add (i32.const 300)))))
  (func $delegate-out (param i32)
    (try (do (try (do (call $throw1 (local.get 0))) (delegate 1))) (catch_all)))
  (func (export "delegate-to-caller") (result i32)
    (try (result i32) (do (call $delegate-out (i32.const 4)) (i32.const 0)) (catch $e1)))
  (func (export "delegate-from-catch") (result i32)
    (try (result i32)
      (do
        (try $t
          (do (throw $e0))
          (catch $e0
            (try (do (throw $e1 (i32.const 6))) (delegate $t)))
          (catch $e1 (drop)))
        (i32.const 0))
      (catch $e1 (i32.add (i32.const 500)))))
  (func (export "delegate-uncaught")
    (try (do (try (do (throw $e0)) (delegate 1))) (catch_all)))

  ;; leaving a construct by a branch or a return leaves its handler: a
  ;; later throw goes to the handler outside it
  (func $leave-by (param i32) (result i32)
    (block $out
      (try
        (do
          (try
            (do
              (br_if $out (i32.eq (local.get 0) (i32.const 0)))
              (if (i32.eq (local.get 0) (i32.const 1)) (then (br $out)))
              (if (i32.eq (local.get 0) (i32.const 2)) (then (return (i32.const 77))))
              (block $b0 (block $b1 (br_table $b0 $b1 $out (i32.sub (local.get 0) (i32.const 3))))))
            (catch_all (unreachable))))
        (catch $e0 (br $out))))
    (throw $e1 (local.get 0)))
  (func (export "leave-by") (param i32) (result i32)
    (try (result i32) (do (call $leave-by (local.get 0))) (catch $e1 (i32.add (i32.const 1000)))))
  (func $leave-catch (param i32) (result i32)
    (block $out
      (try
        (do (throw $e0))
        (catch $e0
          (try (do (nop)) (catch_all (unreachable)))
          (br_if $out (local.get 0))
          (return (i32.const 5)))))
    (throw $e1 (i32.const 9)))
  (func (export "leave-catch") (param i32) (result i32)
    (try (result i32) (do (call $leave-catch (local.get 0))) (catch $e1)))

  ;; locals written in a try's body keep their values in its catch
  (func (export "locals") (param i32) (result i32)
    (local $x i32) (local $y i64) (local $z f64)
    (local.set $x (i32.const 1))
    (try
      (do
        (local.set $x (i32.add (local.get $x) (local.get 0)))
        (local.set $y (i64.const 40))
        (local.set $z (f64.const 2))
        (local.set 0 (i32.const 100))
        (call $throw0)
        (local.set $x (i32.const -1)))
      (catch $e0))
    (i32.add (i32.add (local.get $x) (local.get 0))
             (i32.add (i32.wrap_i64 (local.get $y)) (i32.trunc_f64_s (local.get $z)))))

  ;; a try with block parameters; stack values below a try survive a throw
  (func (export "params") (param i32) (result i32)
    (i32.const 1000)
    (local.get 0)
    (try (param i32) (result i32)
      (do (i32.const 1) (i32.add) (throw $e1))
      (catch $e1 (i32.mul (i32.const 2))))
    (i32.add))

  ;; a thousand throws in a loop, each caught: the records do not pile up
  (func (export "loop") (param i32) (result i32)
    (local $n i32) (local $sum i32)
    (loop $l
      (try
        (do (throw $e1 (local.get $n)))
        (catch $e1 (local.set $sum (i32.add (local.get $sum)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $n) (local.get 0))))
    (local.get $sum))

  ;; exceptions through call_indirect and recursion
  (table funcref (elem $throw1))
  (func (export "indirect") (result i32)
    (try (result i32)
      (do (call_indirect (param i32) (i32.const 31) (i32.const 0)) (i32.const 0))
      (catch $e1)))
  (func $deep (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e1 (i32.const 123))))
    (try (do (call $deep (i32.sub (local.get 0) (i32.const 1)))) (catch $e0)))
  (func (export "deep") (param i32) (result i32)
    (try (result i32) (do (call $deep (local.get 0)) (i32.const 0)) (catch $e1)))

  ;; a throw's values come from wherever the C compiler put them (tcc's
  ;; stack arrays are not 16-byte aligned): frames of several shapes
  (func $t1 (param i32) (throw $e1 (local.get 0)))
  (func $t1b (param i32) (local i32 i64) (throw $e1 (local.get 0)))
  (func $t2 (param i32) (local f64) (throw $e2 (local.get 0) (i64.extend_i32_u (local.get 0))))
  (func $t2b (param i32) (local i32 i32 i32) (throw $e2 (local.get 0) (i64.const 1)))
  (func (export "shapes") (param i32) (result i64)
    (local $sum i64) (local $t i64)
    (try (do (try (do (call $t1 (local.get 0))) (catch_all (rethrow 0))))
      (catch $e1 (i64.extend_i32_u) (local.set $sum)))
    (try (do (try (do (call $t1b (i32.const 3))) (catch_all (rethrow 0))))
      (catch $e1 (i64.extend_i32_u) (local.get $sum) (i64.add) (local.set $sum)))
    (try (do (call $t2 (i32.const 5)))
      (catch $e2 (local.set $t) (i64.extend_i32_u) (local.get $t) (i64.add)
        (local.get $sum) (i64.add) (local.set $sum)))
    (try (do (call $t2b (i32.const 7)))
      (catch $e2 (local.set $t) (i64.extend_i32_u) (local.get $t) (i64.add)
        (local.get $sum) (i64.add) (local.set $sum)))
    (local.get $sum))

  ;; traps are not exceptions: a catch_all does not stop them
  (func (export "trap-in-try") (result i32)
    (try (result i32) (do (unreachable)) (catch_all (i32.const 1))))
  (func $recurse (call $recurse))
  (func (export "exhaustion-in-try")
    (try (do (call $recurse)) (catch_all)))
)

(assert_return (invoke "values-i32" (i32.const 42)) (i32.const 42))
(assert_return (invoke "values-multi" (i32.const 2) (i64.const 0x100000000)) (i64.const 0x100000002))
(assert_return (invoke "values-float") (f64.const 3.75))
(assert_return (invoke "values-nan") (i32.const 0x7fa00001) (i64.const 0xfff4000000000001))
(assert_return (invoke "values-v128") (i64.const 9))
(assert_return (invoke "values-ref" (ref.extern 5)) (ref.extern 5) (i32.const 1))
(assert_return (invoke "values-ref" (ref.null extern)) (ref.null extern) (i32.const 1))

(assert_return (invoke "classify" (i32.const 0)) (i32.const 1))
(assert_return (invoke "classify" (i32.const 1)) (i32.const 2011))
(assert_return (invoke "classify" (i32.const 2)) (i32.const 1012))
(assert_return (invoke "classify" (i32.const 3)) (i32.const 9))
(assert_return (invoke "classify" (i32.const 4)) (i32.const 100))
(assert_return (invoke "no-match" (i32.const 8)) (i32.const 8))
(assert_return (invoke "no-catch-at-all") (i32.const 6))
(assert_exception (invoke "uncaught"))
(assert_exception (invoke "uncaught-after-catch"))

(assert_return (invoke "throw-in-catch") (i32.const 42))
(assert_return (invoke "rethrow-values") (i32.const 3) (i64.const 4))
(assert_return (invoke "rethrow-outer") (i32.const 7))
(assert_return (invoke "rethrow-inner") (i32.const 8))

(assert_return (invoke "delegate-to-try") (i32.const 201))
(assert_return (invoke "delegate-past-block") (i32.const 303))
(assert_return (invoke "delegate-to-caller") (i32.const 4))
(assert_return (invoke "delegate-from-catch") (i32.const 506))
(assert_exception (invoke "delegate-uncaught"))

(assert_return (invoke "leave-by" (i32.const 0)) (i32.const 1000))
(assert_return (invoke "leave-by" (i32.const 1)) (i32.const 1001))
(assert_return (invoke "leave-by" (i32.const 2)) (i32.const 77))
(assert_return (invoke "leave-by" (i32.const 3)) (i32.const 1003))
(assert_return (invoke "leave-by" (i32.const 4)) (i32.const 1004))
(assert_return (invoke "leave-by" (i32.const 5)) (i32.const 1005))
(assert_return (invoke "leave-catch" (i32.const 0)) (i32.const 5))
(assert_return (invoke "leave-catch" (i32.const 1)) (i32.const 9))

(assert_return (invoke "locals" (i32.const 10)) (i32.const 153))
(assert_return (invoke "params" (i32.const 4)) (i32.const 1010))
(assert_return (invoke "loop" (i32.const 1000)) (i32.const 499500))
(assert_return (invoke "indirect") (i32.const 31))
(assert_return (invoke "shapes" (i32.const 1)) (i64.const 22))
(assert_return (invoke "deep" (i32.const 1000)) (i32.const 123))
(assert_trap (invoke "trap-in-try") "unreachable")
(assert_exhaustion (invoke "exhaustion-in-try") "call stack exhausted")
;; the run after a trap inside tries starts with none
(assert_return (invoke "values-i32" (i32.const 1)) (i32.const 1))
(assert_exception (invoke "uncaught"))

;; tags across modules: an exported tag is the same tag where it is
;; imported, and every instance's own tags are new ones
(module $a
  (tag $t (export "t") (param i32))
  (tag $u (export "u") (param i32))
  (func (export "throw-t") (param i32) (throw $t (local.get 0)))
  (func (export "catch-t") (result i32)
    (try (result i32)
      (do (call_indirect (param i32) (i32.const 5) (i32.const 0)) (i32.const 0))
      (catch $t (i32.add (i32.const 10)))
      (catch $u (i32.add (i32.const 20)))
      (catch_all (i32.const -1))))
  (table (export "tab") 1 funcref))
(register "a" $a)
(module $b
  (import "a" "t" (tag $t (param i32)))
  (import "a" "throw-t" (func $throw-t (param i32)))
  (import "a" "tab" (table 1 funcref))
  (tag $own (param i32))
  (elem (i32.const 0) $throw-own)
  (func $throw-own (param i32) (throw $own (local.get 0)))
  (func (export "catch-a") (result i32)
    (try (result i32) (do (call $throw-t (i32.const 2)) (i32.const 0)) (catch $t)))
  (func (export "throw-imported") (param i32) (throw $t (local.get 0))))
(assert_return (invoke $b "catch-a") (i32.const 2))
(assert_return (invoke $a "catch-t") (i32.const -1))
(assert_exception (invoke $b "throw-imported" (i32.const 1)))
(assert_unlinkable
  (module (import "a" "t" (tag (param i64))))
  "incompatible import type")
(assert_unlinkable
  (module (import "a" "throw-t" (tag (param i32))))
  "incompatible import type")
