;; Calls between instances that each have their own memory: every access
;; must reach the memory of the instance whose code makes it, before,
;; during and after the call, however the call crosses (an imported
;; function, call_indirect through a shared table, a throw that lands in
;; the caller). The engine keeps the running instance's memory base in a
;; register the generated code does not hold (engine/seg.c: GS on x86-64),
;; so each crossing must switch it and switch it back.

(module $A
  (memory (export "mem") 1)
  (data (i32.const 0) "\0a\00\00\00")
  (table (export "tab") 4 funcref)
  (tag $e (export "e") (param i32))
  (func $get (export "get") (param i32) (result i32) (i32.load (local.get 0)))
  (func $put (export "put") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  ;; stores into A's memory, then throws what it read there
  (func $throw (export "throw") (param i32)
    (i32.store (i32.const 8) (local.get 0))
    (throw $e (i32.load (i32.const 8))))
  (elem (i32.const 0) $get $put)
  ;; calls what B put in the table at 2 (B's function), then reads its own memory
  (func (export "via-table") (param i32) (result i32)
    (i32.add (call_indirect (param i32) (result i32) (local.get 0) (i32.const 2))
             (i32.load (i32.const 0)))))
(register "A" $A)

(module $B
  (import "A" "get" (func $a_get (param i32) (result i32)))
  (import "A" "put" (func $a_put (param i32 i32)))
  (import "A" "throw" (func $a_throw (param i32)))
  (import "A" "via-table" (func $a_via (param i32) (result i32)))
  (import "A" "tab" (table 4 funcref))
  (import "A" "e" (tag $e (param i32)))
  (memory 1)
  (data (i32.const 0) "\14\00\00\00")
  (func $own (param i32) (result i32) (i32.load (local.get 0)))
  (elem (i32.const 2) $own)
  ;; B's 20 + A's 10 + B's 20 again
  (func (export "import") (result i32)
    (i32.add (i32.add (i32.load (i32.const 0)) (call $a_get (i32.const 0)))
             (i32.load (i32.const 0))))
  ;; A's store lands in A: B's word is unchanged, A's is read back
  (func (export "import-store") (result i32)
    (call $a_put (i32.const 4) (i32.const 7))
    (i32.add (i32.load (i32.const 4)) (i32.mul (call $a_get (i32.const 4)) (i32.const 100))))
  ;; call_indirect to A's function (entry 0), then B's memory
  (func (export "indirect") (result i32)
    (i32.add (call_indirect (param i32) (result i32) (i32.const 0) (i32.const 0))
             (i32.mul (i32.load (i32.const 0)) (i32.const 100))))
  ;; a throw from A's code caught here: B's memory after the landing
  (func (export "caught") (result i32)
    (try (result i32)
      (do (call $a_throw (i32.const 5)) (i32.const 0))
      (catch $e (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 100))))))
  ;; B's code through A's table from A's code: 20 (B) + 10 (A)
  (func (export "nested") (result i32)
    (call_indirect (param i32) (result i32) (i32.const 0) (i32.const 1)))
  (elem (i32.const 1) $via)
  (func $via (param i32) (result i32)
    (i32.add (call $a_via (local.get 0)) (i32.load (i32.const 0)))))

(assert_return (invoke $B "import") (i32.const 50))
(assert_return (invoke $B "import-store") (i32.const 700))
(assert_return (invoke $B "indirect") (i32.const 2010))
(assert_return (invoke $B "caught") (i32.const 2005))
;; nested: B (via) -> A (via-table) -> B (own) and back: 20 + 10 + 20
(assert_return (invoke $B "nested") (i32.const 50))
(assert_return (invoke $A "get" (i32.const 4)) (i32.const 7))
(assert_return (invoke $A "get" (i32.const 8)) (i32.const 5))

;; A module that imports a table (index 0) and defines one (index 1): its
;; defined table is the one the context holds (rt_abi.h zv_ctx.table0),
;; the imported one is A's, reached through ctx->tables
(module $C
  (import "A" "tab" (table 4 funcref))
  (table $own 2 funcref)
  (memory 1)
  (data (i32.const 0) "\1e\00\00\00")
  (func $c_get (param i32) (result i32) (i32.load (local.get 0)))
  (elem (table $own) (i32.const 1) func $c_get)
  (func (export "own-table") (param i32) (result i32)
    (call_indirect $own (param i32) (result i32) (i32.const 0) (local.get 0)))
  ;; A's get through A's table: A's memory (10)
  (func (export "imported-table") (result i32)
    (call_indirect 0 (param i32) (result i32) (i32.const 0) (i32.const 0)))
  ;; the defined table grown, then called at its new slot: C's memory (30)
  (func (export "grow-call") (result i32)
    (drop (table.grow $own (ref.func $c_get) (i32.const 1)))
    (call_indirect $own (param i32) (result i32) (i32.const 0) (i32.const 2))))

(assert_return (invoke $C "own-table" (i32.const 1)) (i32.const 30))
(assert_trap (invoke $C "own-table" (i32.const 0)) "uninitialized element")
(assert_trap (invoke $C "own-table" (i32.const 2)) "undefined element")
(assert_return (invoke $C "imported-table") (i32.const 10))
(assert_return (invoke $C "grow-call") (i32.const 30))
(assert_return (invoke $C "own-table" (i32.const 2)) (i32.const 30))
