#[gmp::test]
async fn generic<T: Default>() {
    let _ = T::default();
}

#[gmp::test]
async fn with_where_clause()
where
    u8: Copy,
{
}

fn main() {}
