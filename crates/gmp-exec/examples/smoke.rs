fn main() {
    let rt = gmp_exec::Runtime::builder().procs(2).build().unwrap();
    let n = rt.block_on(async {
        let mut hs = Vec::new();
        for i in 0..100_000u64 {
            hs.push(gmp_exec::spawn(async move { i }));
        }
        let mut s = 0;
        for h in hs {
            s += h.await.unwrap();
        }
        s
    });
    println!("sum {n}");
    let t = std::time::Instant::now();
    let n = rt.block_on(async {
        gmp_exec::spawn(async {
            let mut hs = Vec::new();
            for i in 0..100_000u64 {
                hs.push(gmp_exec::spawn(async move { i }));
            }
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        })
        .await
        .unwrap()
    });
    println!("sum {n} in {:?}", t.elapsed());
    let r = rt.block_on(async { gmp_exec::spawn(async { panic!("boom") }).await });
    println!("{:?}", r.unwrap_err());
    drop(rt);
    println!("dropped");
}
